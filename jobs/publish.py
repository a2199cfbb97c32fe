"""spark-submit entry point: `spark-submit jobs/publish.py --cycle C`.

The `publish` command arrives with the allocation work (another branch); until then this exits 2
with argparse's "invalid choice"."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["publish", *sys.argv[1:]]))
