"""Benchmark: identity resolution of a whole cycle (issue: 1M residents in under 15 minutes), with
its linkage quality against the ground truth.

    .venv/bin/python bench/bench_resolve.py --residents 1000000 --lake DIR

Generates and ingests the population first unless --lake already holds the cycle's silver tables
(not counted), then runs `dtsen resolve` in its own process (wall time, peak memory) and
`dtsen evaluate-linkage --json` (precision / recall / F1, logged to MLflow); then, on the same data,
Splink configured as its own documentation shows (bench/splink_baseline.py, its own process), scored
by the same evaluation; writes bench/results/resolve_<N>.json with both side by side.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import bench_args, json_document, run_measured, save  # noqa: E402


def main() -> int:
    args, lake, dtsen = bench_args(__doc__)
    env = {"DTSEN_LAKE": lake}
    full_env = {**os.environ, **env}
    if not os.path.isdir(os.path.join(lake, "silver", "person")):
        if not os.path.isdir(os.path.join(lake, "landing", args.cycle)):
            subprocess.run([dtsen, "--env", "local", "generate", "--residents", str(args.residents), "--seed",
                            str(args.seed), "--cycle", args.cycle], env=full_env, check=True)
        subprocess.run([dtsen, "--env", "local", "ingest", "--cycle", args.cycle], env=full_env, check=True)
    try:
        m = run_measured([dtsen, "--env", "local", "resolve", "--cycle", args.cycle, "--json"], env=env)
        if m["returncode"] != 0:
            print(m["stdout"])
            return m["returncode"]
        s = json_document(m["stdout"])
        ev = subprocess.run([dtsen, "--env", "local", "evaluate-linkage", "--cycle", args.cycle, "--json"],
                            env=full_env, check=True, capture_output=True, text=True)
        q = json_document(ev.stdout)
        b = run_measured([sys.executable, str(Path(__file__).resolve().parent / "splink_baseline.py"),
                          "--cycle", args.cycle, "--env", "local"], env=env)
        base = json_document(b["stdout"]) if b["returncode"] == 0 else {"failed": b["returncode"]}
    finally:
        if args.lake is None:
            shutil.rmtree(lake, ignore_errors=True)
    figures = {"benchmark": "resolve", "cycle": args.cycle, "residents": args.residents,
               "registry_records": s["registry_records"], "agency_records": s["agency_records"],
               "residents_resolved": s["residents"], "agency_records_linked": s["agency_records_linked"],
               "wall_seconds": m["wall_seconds"], "peak_memory_gib": m["peak_memory_gib"],
               "records_per_second": round((s["registry_records"] + s["agency_records"]) / m["wall_seconds"]),
               "peak_pss_gib": m["peak_pss_gib"], "stage_seconds": s["seconds"],
               "step_seconds": s["step_seconds"], "review": s["review"],
               "registry_dedup": q["registry_dedup"], "agency_linkage": q["agency_linkage"],
               "agency_linkage_by_source": q["agency_linkage_by_source"],
               "registry_dedup_recall_by_kind": q["registry_dedup_recall_by_kind"],
               "agency_recall_by_kind": q["agency_recall_by_kind"], "mlflow_run_id": q["mlflow_run_id"],
               "compared_pairs": s["compared_pairs"],
               "splink_documented_baseline": {"process_wall_seconds": b["wall_seconds"],
                                              "peak_memory_gib": b["peak_memory_gib"], **base},
               "machine": f"{os.cpu_count()} cores, local[2]"}
    path = save(f"resolve_{args.residents}", figures)
    print(json.dumps(figures, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
