"""Benchmark: eligibility, quotas, selection, status and the recipient files of a whole cycle
(`dtsen publish`; issue: 1M residents in under 5 minutes).

    .venv/bin/python bench/bench_allocate.py --residents 1000000 --lake DIR

The lake needs the cycle profiled (bench/bench_profile.py with the same --lake makes it); a lake
with nothing yet is prepared here (generate, ingest, resolve, profile: not timed). Without a
family_scores table for the cycle, stand-in scores (dtsen.synth.scores) are written first, so the
benchmark runs before the scoring stage exists on a lake. Runs `dtsen publish --json` in its own
process (wall time, peak memory) and writes bench/results/allocate_<N>.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import bench_args, json_document, run_measured, save  # noqa: E402

STAND_IN = """
import sys
from dtsen.catalog import Catalog
from dtsen.config import load_config
from dtsen.spark import get_spark
from dtsen.synth.scores import stand_in_scores
cycle = sys.argv[1]
conf = load_config("local"); spark = get_spark(conf, "bench-scores"); cat = Catalog(conf)
if not cat.exists(spark, "family_scores") or cat.read(spark, "family_scores", cycle).limit(1).count() == 0:
    cat.write(stand_in_scores(cat.read(spark, "family_profiles", cycle), conf, cycle), "family_scores", cycle=cycle)
    print("wrote stand-in scores")
"""


def main() -> int:
    args, lake, dtsen = bench_args(__doc__)
    env = {**os.environ, "DTSEN_LAKE": lake}
    if not os.path.isdir(os.path.join(lake, "gold", "profile", "families")):
        for step in (["generate", "--residents", str(args.residents), "--seed", str(args.seed)],
                     ["ingest"], ["resolve"], ["profile"]):
            print("preparing:", step[0], flush=True)
            subprocess.run([dtsen, "--env", "local", *step, "--cycle", args.cycle], env=env, check=True,
                           stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", STAND_IN, args.cycle], env=env, check=True)
    m = run_measured([dtsen, "--env", "local", "publish", "--cycle", args.cycle, "--json"], env={"DTSEN_LAKE": lake})
    if m["returncode"] != 0:
        print(m["stdout"])
        return m["returncode"]
    s = json_document(m["stdout"])
    rows = s["families"] * len(s["programs"])
    figures = {"benchmark": "allocate", "cycle": args.cycle, "residents": args.residents, "families": s["families"],
               "family_program_rows": rows, "files": s["files"],
               "recipients": {p: c["recipients"] for p, c in s["programs"].items()}, "status": s["status"],
               "wall_seconds": m["wall_seconds"], "job_seconds": s["publish_wall_seconds"],
               "allocate_seconds": s["wall_seconds"], "peak_memory_gib": m["peak_memory_gib"],
               "family_program_rows_per_second": round(rows / m["wall_seconds"]),
               "families_per_second": round(s["families"] / m["wall_seconds"]),
               "machine": f"{os.cpu_count()} cores, local[2]"}
    path = save(f"allocate_{args.residents}", figures)
    print(json.dumps(figures, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
