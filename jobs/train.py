"""spark-submit entry point: `spark-submit jobs/train.py [--seed S]`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
