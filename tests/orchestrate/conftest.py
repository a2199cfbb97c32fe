"""The Airflow run of a registry's first cycle, shared by the DAG test (test_dag_run.py) and the
standalone-cluster test (test_cluster.py), which runs the same cycle's jobs on a cluster and compares
its lake with the one the DAG's local-mode tasks wrote. Both run in one xdist group (tests/conftest.py),
so the population is generated and the DAG run once per session."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from airflow_env import AIRFLOW, ROOT, airflow_env, migrate, run

CYCLE, RESIDENTS, SEED = "2026H1", 3000, 11
FIRST = ["ingest", "quality_gate", "resolve", "profile", "summary"]
THEN = ["score", "allocate", "publish"]      # the summary after skipped stages is the first run's


@pytest.fixture(scope="session")
def setting(tmp_path_factory) -> dict:
    """A tiny population in its own lake, and a conf overlay `dagtest` = `test` with the gates' limits
    opened: 2-3 files a source make the quarantine shares lumpy (one rejected file of 3 is 33%), and a
    model trained on ~250 labelled families may miss the champion floors; the limits themselves are
    tested in test_quality_gate.py and tests/score/test_gate.py. `generated` keeps a copy of the lake
    as the generator left it (landing files, ground truth), before any job ran."""
    tmp = tmp_path_factory.mktemp("dagrun")
    lake, conf = tmp / "lake", tmp / "conf"
    shutil.copytree(ROOT / "conf", conf)
    shutil.copytree(conf / "test", conf / "dagtest")
    (conf / "dagtest" / "quality_gate.yml").write_text(
        "quality_gate:\n  max_quarantine_share: 1.0\n  max_rejected_file_share: 1.0\n")
    (conf / "dagtest" / "score.yml").write_text(
        "score:\n  gate:\n    floors:\n      max_exclusion_error: 1.0\n      min_spearman: -1.0\n"
        "      min_auc: 0.0\n      max_fairness_ratio: 1000000.0\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib"), "DTSEN_LAKE": str(lake), "DTSEN_CONF": str(conf),
           "DTSEN_ENV": "dagtest"}
    got = subprocess.run([sys.executable, "-m", "dtsen.cli", "generate", "--residents", str(RESIDENTS),
                          "--seed", str(SEED), "--cycle", CYCLE], env=env, capture_output=True, text=True,
                         timeout=900)
    assert got.returncode == 0, got.stderr[-3000:]
    shutil.copytree(lake, tmp / "generated")
    return {"tmp": tmp, "lake": lake, "conf": conf, "generated": tmp / "generated", "cycle": CYCLE}


def _dags_test(home, env, dag_id: str, logical_date: str, params: dict, log) -> dict:
    got = run([str(AIRFLOW), "dags", "test", dag_id, logical_date, "-c", json.dumps(params)], env, timeout=3600,
              log=log)
    with sqlite3.connect(home / "airflow.db") as db:
        run_id = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
                            (dag_id,)).fetchone()
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                                 (dag_id, run_id[0])))
    return {"states": states, "run_state": run_id[1], "log": got.stdout}


@pytest.fixture(scope="session")
def dag_runs(setting) -> dict:
    home = setting["tmp"] / "airflow-home"
    env = airflow_env(home, DTSEN_LAKE=str(setting["lake"]), DTSEN_CONF=str(setting["conf"]),
                      DTSEN_ENV="dagtest")
    migrate(home, env)
    tmp = setting["tmp"]
    return {"first": _dags_test(home, env, "dtsen_cycle", "2026-01-01", {"stages": FIRST}, tmp / "first.log"),
            "retrain": _dags_test(home, env, "dtsen_retrain", "2026-01-02", {}, tmp / "retrain.log"),
            "then": _dags_test(home, env, "dtsen_cycle", "2026-01-03", {"cycle": CYCLE, "stages": THEN},
                               tmp / "then.log")}
