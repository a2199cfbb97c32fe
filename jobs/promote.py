"""spark-submit entry point: `spark-submit jobs/promote.py`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["promote", *sys.argv[1:]]))
