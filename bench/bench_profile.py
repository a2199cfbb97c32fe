"""Benchmark: family profiles, inconsistency flags and the review queue of a whole cycle (issue: 1M
residents in under 5 minutes), with the flags' recall and precision against the ground truth.

    .venv/bin/python bench/bench_profile.py --residents 1000000 --lake DIR

The lake must already hold the cycle resolved (bench/bench_resolve.py with the same --lake makes it).
Runs `dtsen profile --json` in its own process (wall time, peak memory), then `dtsen profile
--evaluate --json` for the figures against the ground truth (not timed); writes
bench/results/profile_<N>.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import bench_args, json_document, run_measured, save  # noqa: E402


def main() -> int:
    args, lake, dtsen = bench_args(__doc__)
    if not os.path.isdir(os.path.join(lake, "gold", "residents")):
        print(f"{lake} holds no resolved cycle: run bench/bench_resolve.py --lake {lake} first")
        return 2
    env = {"DTSEN_LAKE": lake}
    m = run_measured([dtsen, "--env", "local", "profile", "--cycle", args.cycle, "--json"], env=env)
    if m["returncode"] != 0:
        print(m["stdout"])
        return m["returncode"]
    s = json_document(m["stdout"])
    ev = subprocess.run([dtsen, "--env", "local", "profile", "--cycle", args.cycle, "--evaluate", "--json"],
                        env={**os.environ, **env}, check=True, capture_output=True, text=True)
    q = json_document(ev.stdout)["evaluation"]
    figures = {"benchmark": "profile", "cycle": args.cycle, "residents": args.residents,
               "families": s["families"], "flagged_families": s["flagged_families"], "outcomes": s["outcomes"],
               "flags_by_rule": s["flags_by_rule"], "data_incomplete": s["data_incomplete"],
               "wall_seconds": m["wall_seconds"], "job_seconds": s["wall_seconds"], "stage_seconds": s["seconds"],
               "peak_memory_gib": m["peak_memory_gib"],
               "families_per_second": round(s["families"] / m["wall_seconds"]),
               "flag_quality": q, "machine": f"{os.cpu_count()} cores, local[2]"}
    path = save(f"profile_{args.residents}", figures)
    print(json.dumps(figures, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
