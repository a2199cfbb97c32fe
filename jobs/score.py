"""spark-submit entry point: `spark-submit jobs/score.py --cycle C`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
