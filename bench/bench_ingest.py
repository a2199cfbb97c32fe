"""Benchmark: ingest a whole cycle of agency feeds (issue: 1M-resident cycle in under 5 minutes).

    .venv/bin/python bench/bench_ingest.py --residents 1000000 [--lake DIR]

Generates the population first unless --lake already holds its landing files (generation time is
not counted), then runs `dtsen ingest` in its own process and reports wall time, peak memory and
rows/s per source; writes bench/results/ingest_<N>.json.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import bench_args, run_measured, save  # noqa: E402


def main() -> int:
    args, lake, dtsen = bench_args(__doc__)
    env = {"DTSEN_LAKE": lake}
    if not os.path.isdir(os.path.join(lake, "landing", args.cycle)):
        subprocess.run([dtsen, "--env", "local", "generate", "--residents", str(args.residents), "--seed",
                        str(args.seed), "--cycle", args.cycle], env={**os.environ, **env}, check=True)
    for zone in ("bronze", "silver", "quarantine", "quality", "restricted", "reports"):
        shutil.rmtree(os.path.join(lake, zone), ignore_errors=True)       # a cold ingest every time
    try:
        m = run_measured([dtsen, "--env", "local", "ingest", "--cycle", args.cycle, "--json"], env=env)
        if m["returncode"] != 0:
            print(m["stdout"])
            return m["returncode"]
        s = json.loads(m["stdout"][m["stdout"].index("{"):])
    finally:
        if args.lake is None:
            shutil.rmtree(lake, ignore_errors=True)
    per_source = {src: {"rows": s["rows_by_source"][src], "seconds": sec,
                        "rows_per_second": round(s["rows_by_source"][src] / sec) if sec else None,
                        "steps": s["step_seconds_by_source"][src]}
                  for src, sec in s["seconds_by_source"].items()}
    figures = {"benchmark": "ingest", "cycle": args.cycle, "residents": args.residents,
               "rows_in": s["rows_in"], "rows_accepted": s["rows_accepted"], "rows_quarantined": s["rows_quarantined"],
               "files": s["files_read"], "files_rejected": s["files_rejected"], "land_seconds": s["land_seconds"],
               "dictionary_seconds": s["dictionary_seconds"],
               "pii_seconds": s["pii_seconds"], "quarantine_seconds": s["quarantine_seconds"],
               "reconcile_and_report_seconds": s["reconcile_seconds"],
               "wall_seconds": m["wall_seconds"], "peak_memory_gib": m["peak_memory_gib"],
               "rows_per_second": round(s["rows_in"] / m["wall_seconds"]), "per_source": per_source,
               "machine": f"{os.cpu_count()} cores, local[2]"}
    path = save(f"ingest_{args.residents}", figures)
    print(json.dumps(figures, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
