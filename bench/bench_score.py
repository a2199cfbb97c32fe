"""Benchmark: welfare scoring (issue: 1M residents' families scored with explanations in under 5
minutes), with the targeting quality of the baseline and the champion on held-out labels.

    .venv/bin/python bench/bench_score.py --residents 1000000 --lake DIR

Prepares the lake when it does not hold the cycle's profiles yet (generate, ingest, resolve, profile:
not timed), then runs `dtsen train`, `dtsen promote` and `dtsen score` each in its own process (wall
time, peak memory); writes bench/results/score_<N>.json: the baseline (OLS per region group) and the
champion side by side at 10/20/40% coverage, the relative gain at the gate coverage and the fairness
ratios.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import bench_args, json_document, run_measured, save  # noqa: E402

PREPARE = ("generate", "ingest", "resolve", "profile")


def prepare(dtsen: str, lake: str, args, env: dict) -> None:
    done = {"generate": os.path.join(lake, "landing", args.cycle),
            "ingest": os.path.join(lake, "silver", "person", f"cycle={args.cycle}"),
            "resolve": os.path.join(lake, "gold", "residents", f"cycle={args.cycle}"),
            "profile": os.path.join(lake, "gold", "profile", "families", f"cycle={args.cycle}")}
    for step in PREPARE:
        if os.path.isdir(done[step]):
            continue
        extra = ["--residents", str(args.residents), "--seed", str(args.seed)] if step == "generate" else []
        print(f"preparing: dtsen {step} --cycle {args.cycle}", flush=True)
        subprocess.run([dtsen, "--env", "local", step, "--cycle", args.cycle, *extra], env=env, check=True)


def measured(dtsen: str, cmd: list[str], env: dict) -> tuple[dict, dict]:
    m = run_measured([dtsen, "--env", "local", *cmd, "--json"], env=env)
    if m["returncode"] != 0:
        print(m["stdout"])
        raise SystemExit(f"dtsen {' '.join(cmd)} failed with exit code {m['returncode']}")
    return m, json_document(m["stdout"])


def score_figures(args, mt: dict, t: dict, mp: dict, p: dict, ms: dict, s: dict) -> dict:
    """The score benchmark's figures from the measured train / promote / score runs and their JSON."""
    gate = "40"
    base, champ = t["runs"]["ols"]["test"], t["runs"][t["candidate"]]["test"]
    keep = [f"{m}_{c}" for m in ("exclusion_error", "inclusion_error_alatas", "inclusion_error_wb")
            for c in ("10", "20", "40")] + ["spearman", "auc_below_poverty_line", "r2_log"]
    fair = [k for k in sorted(set(base) | set(champ)) if k.startswith("fairness_ratio_") and k.endswith(f"_{gate}")]
    return {
        "benchmark": "score", "cycle": args.cycle, "residents": args.residents,
        "labelled_families": t["labelled_families"], "split": t["split"], "labels": t["labels"],
        "baseline_ols": {k: base.get(k) for k in keep + fair},
        f"challenger_{t['candidate']}": {k: champ.get(k) for k in keep + fair},
        "relative_exclusion_gain_at_40": round(1 - champ["exclusion_error_40"] / base["exclusion_error_40"], 4),
        "promotion": {"promoted": p["promoted"], "champion": p["champion"], "reasons": p["reasons"]},
        "scoring": {"families": s["families"], "persons": s["persons"], "model": s["model"],
                    "desil_person_share": s["desil_person_share"], "categories": s["categories"],
                    "families_without_reasons": s["families_without_reasons"]},
        "train": {"wall_seconds": mt["wall_seconds"], "peak_memory_gib": mt["peak_memory_gib"]},
        "promote": {"wall_seconds": mp["wall_seconds"], "peak_memory_gib": mp["peak_memory_gib"]},
        "score": {"wall_seconds": ms["wall_seconds"], "job_seconds": s["wall_seconds"],
                  "peak_memory_gib": ms["peak_memory_gib"],
                  "families_per_second": round(s["families"] / ms["wall_seconds"])},
        "machine": f"{os.cpu_count()} cores, local[2]"}


def main() -> int:
    args, lake, dtsen = bench_args(__doc__)
    env = {"DTSEN_LAKE": lake}
    prepare(dtsen, lake, args, {**os.environ, **env})
    mt, t = measured(dtsen, ["train"], env)
    mp, p = measured(dtsen, ["promote"], env)
    ms, s = measured(dtsen, ["score", "--cycle", args.cycle], env)
    figures = score_figures(args, mt, t, mp, p, ms, s)
    path = save(f"score_{args.residents}", figures)
    print(json.dumps(figures, indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
