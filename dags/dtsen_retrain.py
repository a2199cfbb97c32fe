"""dtsen_retrain: train the welfare models on the labelled families (evaluation runs inside, logged
to MLflow) -> promote (the gate: the challenger becomes champion only if it beats the champion and
stays fair). By hand by default; DTSEN_RETRAIN_SCHEDULE (cron) schedules it. Scoring uses the
champion of the moment, so retrain before a cycle's `score` task, not during it.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from airflow.sdk import DAG

# the shared helper lives beside this file; Airflow puts only its configured dags folder on sys.path
sys.path.insert(0, str(Path(__file__).resolve().parent))
from dtsen_orchestration import DEFAULT_ARGS, DtsenJob  # noqa: E402

with DAG(
    dag_id="dtsen_retrain",
    description="train -> promote (MLflow)",
    schedule=os.environ.get("DTSEN_RETRAIN_SCHEDULE") or None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"stages": ["train", "promote"]},
    tags=["dtsen", "ml"],
    doc_md=__doc__,
) as dag:
    DtsenJob(task_id="train", stage="train") >> DtsenJob(task_id="promote", stage="promote")
