"""spark-submit entry point: `spark-submit jobs/resolve.py --cycle C`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["resolve", *sys.argv[1:]]))
