"""Benchmark: eligibility, quotas, selection, status and the recipient files of a whole cycle
(`dtsen publish`; issue: 1M residents in under 5 minutes).

    .venv/bin/python bench/bench_allocate.py --residents 1000000 --lake DIR

The lake needs the cycle scored by the champion: bench/bench_score.py with the same --lake prepares
it (generate, ingest, resolve, profile, train, promote, score). Runs `dtsen publish --json` in its
own process (wall time, peak memory) and writes bench/results/allocate_<N>.json.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import bench_args, json_document, run_measured, save  # noqa: E402


def allocate_figures(args, m: dict, s: dict) -> dict:
    """The allocation benchmark's figures from the measured `dtsen publish --json` run and its JSON."""
    rows = s["families"] * len(s["programs"])
    return {"benchmark": "allocate", "cycle": args.cycle, "residents": args.residents, "families": s["families"],
            "family_program_rows": rows, "files": s["files"],
            "recipients": {p: c["recipients"] for p, c in s["programs"].items()}, "status": s["status"],
            "wall_seconds": m["wall_seconds"], "job_seconds": s["publish_wall_seconds"],
            "allocate_seconds": s["wall_seconds"], "peak_memory_gib": m["peak_memory_gib"],
            "family_program_rows_per_second": round(rows / m["wall_seconds"]),
            "families_per_second": round(s["families"] / m["wall_seconds"]),
            "machine": f"{os.cpu_count()} cores, local[2]"}


def main() -> int:
    args, lake, dtsen = bench_args(__doc__)
    if not os.path.isdir(os.path.join(lake, "gold", "score", "families", f"cycle={args.cycle}")):
        print(f"{lake} holds no scores for {args.cycle}: run bench/bench_score.py --lake {lake} first")
        return 2
    m = run_measured([dtsen, "--env", "local", "publish", "--cycle", args.cycle, "--json"], env={"DTSEN_LAKE": lake})
    if m["returncode"] != 0:
        print(m["stdout"])
        return m["returncode"]
    figures = allocate_figures(args, m, json_document(m["stdout"]))
    path = save(f"allocate_{args.residents}", figures)
    print(json.dumps(figures, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
