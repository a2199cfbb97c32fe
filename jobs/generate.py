"""spark-submit entry point: `spark-submit jobs/generate.py --residents N --seed S --cycle C`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
