"""spark-submit entry point: `spark-submit jobs/quality_gate.py --cycle C`."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["quality-gate", *sys.argv[1:]]))
