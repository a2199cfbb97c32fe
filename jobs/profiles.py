"""spark-submit entry point: `spark-submit jobs/profiles.py --cycle C`.

Not `profile.py`: spark-submit puts jobs/ first on sys.path, where it would shadow the standard
library's `profile` (imported by cProfile) and break the import of dtsen.cli."""
import sys

from dtsen.cli import main

if __name__ == "__main__":
    sys.exit(main(["profile", *sys.argv[1:]]))
