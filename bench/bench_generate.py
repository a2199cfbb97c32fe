"""Benchmark: the synthetic population with all agency feeds (issue: 1M residents < 5 min, 10M < 10x).

    .venv/bin/python bench/bench_generate.py --residents 1000000 [--cycle 2026H1] [--seed 42]

Runs `dtsen generate` in its own process on a scratch lake, prints rows/s, wall time and peak
memory, and writes bench/results/generate_<N>.json. It reports; it asserts nothing.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import bench_args, run_measured, save  # noqa: E402


def main() -> int:
    args, lake, dtsen = bench_args(__doc__)
    try:
        m = run_measured([dtsen, "--env", "local", "generate", "--residents", str(args.residents),
                          "--seed", str(args.seed), "--cycle", args.cycle, "--json"], env={"DTSEN_LAKE": lake})
        if m["returncode"] != 0:
            print(m["stdout"])
            return m["returncode"]
        summary = json.loads(m["stdout"][m["stdout"].index("{"):])
        landing_bytes = sum(f.stat().st_size for f in Path(summary["landing"]).rglob("*") if f.is_file())
    finally:
        if args.lake is None:
            shutil.rmtree(lake, ignore_errors=True)
    figures = {
        "benchmark": "generate", "cycle": args.cycle, "seed": args.seed, "residents_requested": args.residents,
        "residents": summary["residents"], "families": summary["families"], "agency_records": summary["records"],
        "files": summary["files"], "landing_mib": round(landing_bytes / 2 ** 20, 1),
        "wall_seconds": m["wall_seconds"], "peak_memory_gib": m["peak_memory_gib"],
        "residents_per_second": round(summary["residents"] / m["wall_seconds"]),
        "records_per_second": round(summary["records"] / m["wall_seconds"]),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, local[2]",
    }
    path = save(f"generate_{args.residents}", figures)
    print(json.dumps(figures, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
