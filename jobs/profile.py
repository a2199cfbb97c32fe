"""spark-submit entry point: `spark-submit jobs/profile.py --cycle C`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["profile", *sys.argv[1:]]))
