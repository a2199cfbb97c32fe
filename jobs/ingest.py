"""spark-submit entry point: `spark-submit jobs/ingest.py --cycle C [--source S]`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
