"""Benchmark: the whole cycle on one population, stage by stage (issue: the 1M cycle in under 30
minutes on this machine), with the figures the scoring and allocation benchmarks report.

    .venv/bin/python bench/bench_cycle.py --residents 1000000 --lake DIR

Runs the stages in the order the `dtsen_cycle` DAG runs them, each as its own `dtsen` process (the
same job code the DAG's spark-submit tasks run; one JVM per stage, as on Airflow): generate (the
agencies' delivery, reported apart: not part of the cycle), ingest, quality gate, resolve, profile,
train + promote (the retrain DAG; first cycle only), score, publish (eligibility, quotas, selection,
status, files). Each stage's wall time and peak memory (whole process tree) go to
bench/results/cycle_<N>.json; the scoring and allocation figures also go to score_<N>.json and
allocate_<N>.json. Stops at the first failing stage, printing its output; the stages done so far are
kept in cycle_<N>.partial.json, and `--resume` carries on from the first stage not in it.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_allocate import allocate_figures  # noqa: E402
from bench_score import score_figures  # noqa: E402
from measure import RESULTS, bench_args, json_document, run_measured, save  # noqa: E402

CYCLE_STAGES = ("ingest", "quality-gate", "resolve", "profile", "score", "publish")
RETRAIN = ("train", "promote")


def main() -> int:
    args, lake, dtsen = bench_args(__doc__, extra=[("--resume", {"action": "store_true",
                                                    "help": "skip the stages in cycle_<N>.partial.json"})])
    env = {"DTSEN_LAKE": lake}
    partial = RESULTS / f"cycle_{args.residents}.partial.json"
    done = json.loads(partial.read_text()) if args.resume and partial.exists() else {"stages": {}, "out": {}}
    stages: dict[str, dict] = done["stages"]
    out: dict[str, dict] = done["out"]

    def run(stage: str, *extra: str) -> None:
        if stage in stages:
            print(f"    {stage}: done in an earlier run ({stages[stage]['wall_seconds']} s)", flush=True)
            return
        cmd = [dtsen, "--env", "local", stage, *extra, "--json"]
        print(f"[{time.strftime('%H:%M:%S')}] {' '.join(cmd[1:])}", flush=True)
        m = run_measured(cmd, env=env)
        if m["returncode"] != 0:
            print(m["stdout"])
            raise SystemExit(f"stage {stage} failed with exit code {m['returncode']}")
        out[stage] = json_document(m["stdout"])
        stages[stage] = {k: m[k] for k in ("wall_seconds", "peak_memory_gib")}
        print(f"    {stages[stage]['wall_seconds']} s, peak {stages[stage]['peak_memory_gib']} GiB", flush=True)
        partial.write_text(json.dumps({"lake": lake, "stages": stages, "out": out}, indent=1, default=str))

    run("generate", "--residents", str(args.residents), "--seed", str(args.seed), "--cycle", args.cycle)
    for stage in CYCLE_STAGES:
        if stage == "score":
            for r in RETRAIN:
                run(r)
        run(stage, "--cycle", args.cycle)

    cycle_seconds = sum(stages[s]["wall_seconds"] for s in (*CYCLE_STAGES, *RETRAIN))
    figures = {"benchmark": "cycle", "cycle": args.cycle, "residents": args.residents,
               "families": out["publish"]["families"], "stages": stages,
               "cycle_wall_seconds": round(cycle_seconds, 1),
               "cycle_wall_seconds_without_retrain": round(
                   cycle_seconds - sum(stages[r]["wall_seconds"] for r in RETRAIN), 1),
               "peak_memory_gib": max(v["peak_memory_gib"] for v in stages.values()),
               "machine": f"{os.cpu_count()} cores, local[2]"}
    score = score_figures(args, stages["train"], out["train"], stages["promote"], out["promote"],
                          stages["score"], out["score"])
    allocate = allocate_figures(args, stages["publish"], out["publish"])
    for name, fig in (("cycle", figures), ("score", score), ("allocate", allocate)):
        print(f"wrote {save(f'{name}_{args.residents}', fig)}")
    partial.unlink()
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
