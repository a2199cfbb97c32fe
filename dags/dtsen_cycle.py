"""dtsen_cycle: one registry cycle, end to end. Reads as the pipeline's table of contents:

    ingest_<source> (one per agency, in parallel) -> quality_gate -> resolve -> profile -> score
      -> allocate -> publish -> summary

Every task spark-submits one job (jobs/<stage>.py) into the jobs venv and replaces only its cycle's
output, so a failed task is retried or rerun by hand ("Clear") without touching other cycles. The
cycle id comes from the data interval (see dtsen_orchestration.cycle_id) unless the run's `cycle`
param names one; the `stages` param runs a subset (others are skipped, not failed).
"""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG, Param

# the shared helper lives beside this file; Airflow puts only its configured dags folder on sys.path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from dtsen_orchestration import CYCLE_STAGES, DEFAULT_ARGS, PERIOD, SCHEDULES, DtsenJob, cycle_id, sources  # noqa: E402

JOBS = {"profile": "profiles"}             # stage -> jobs/<name>.py where they differ
EXTRA = {"publish": ["--allocated"]}       # publish the allocate task's tables, do not allocate twice
CYCLE = "{{ params.cycle or dtsen_cycle(data_interval_start) }}"

with DAG(
    dag_id="dtsen_cycle",
    description="ingest -> quality gate -> resolve -> profile -> score -> allocate -> publish -> summary",
    schedule=SCHEDULES[PERIOD],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,                      # cycles build on the previous one (stable ids, diffs)
    default_args=DEFAULT_ARGS,
    user_defined_macros={"dtsen_cycle": cycle_id},
    params={
        "cycle": Param(None, type=["null", "string"], pattern=r"^\d{4}(H[12]|Q[1-4])$",
                       description="cycle id to build (default: the one the data interval starts in)"),
        "stages": Param(CYCLE_STAGES, type="array", items={"type": "string", "enum": CYCLE_STAGES},
                        description="stages to run; the others are skipped"),
    },
    tags=["dtsen"],
    doc_md=__doc__,
) as dag:
    ingest = [DtsenJob(task_id=f"ingest_{s}", stage="ingest", args=["--cycle", CYCLE, "--source", s])
              for s in sources()]
    gate = DtsenJob(task_id="quality_gate", stage="quality_gate", args=["--cycle", CYCLE])
    chain = [DtsenJob(task_id=stage, stage=stage, job=JOBS.get(stage), args=["--cycle", CYCLE, *EXTRA.get(stage, [])])
             for stage in ("resolve", "profile", "score", "allocate", "publish", "summary")]
    ingest >> gate >> chain[0]
    for upstream, downstream in zip(chain, chain[1:]):
        upstream >> downstream
