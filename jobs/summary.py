"""spark-submit entry point: `spark-submit jobs/summary.py --cycle C`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["summary", *sys.argv[1:]]))
