"""spark-submit entry point: `spark-submit jobs/allocate.py --cycle C`.

The `allocate` command arrives with the allocation work (another branch); until then this exits 2
with argparse's "invalid choice"."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["allocate", *sys.argv[1:]]))
