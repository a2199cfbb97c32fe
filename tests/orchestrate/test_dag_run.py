"""`airflow dags test` for real: Airflow in .venv-airflow with its own SQLite home, every task
spark-submitting its job into the jobs venv (local[2]) on a 3,000-resident population generated into a
throw-away lake. A registry's first cycle, as ops run it:

1. `dtsen_cycle` with stages ingest .. profile (+ summary): score, allocate and publish are skipped,
   since no model has been trained yet (score needs a champion);
2. `dtsen_retrain`: train on the cycle's survey labels, promote the first champion;
3. `dtsen_cycle` again for the same cycle with stages score, allocate, publish, summary.

Then the lake must hold the whole cycle: every source ingested and reconciled, the gate's decision,
residents with family ids, family profiles, scores by the champion, one status per family and the
recipient files with their index. A few minutes per Spark task on a 2-core machine: this is the
slowest test of the suite."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from airflow_env import AIRFLOW, ROOT, airflow_env, migrate, run
from pyspark.sql import functions as F

CYCLE, RESIDENTS, SEED = "2026H1", 3000, 11
FIRST = ["ingest", "quality_gate", "resolve", "profile", "summary"]
THEN = ["score", "allocate", "publish", "summary"]


@pytest.fixture(scope="module")
def setting(tmp_path_factory) -> dict:
    """A tiny population in its own lake, and a conf overlay `dagtest` = `test` with the gates' limits
    opened: 2-3 files a source make the quarantine shares lumpy (one rejected file of 3 is 33%), and a
    model trained on ~250 labelled families may miss the champion floors; the limits themselves are
    tested in test_quality_gate.py and tests/score/test_gate.py."""
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
    return {"tmp": tmp, "lake": lake, "conf": conf}


def _dags_test(home, env, dag_id: str, logical_date: str, params: dict, log) -> dict:
    got = run([str(AIRFLOW), "dags", "test", dag_id, logical_date, "-c", json.dumps(params)], env, timeout=3600,
              log=log)
    with sqlite3.connect(home / "airflow.db") as db:
        run_id = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1",
                            (dag_id,)).fetchone()
        states = dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                                 (dag_id, run_id[0])))
    return {"states": states, "run_state": run_id[1], "log": got.stdout}


@pytest.fixture(scope="module")
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


def test_each_run_succeeds_and_skips_only_the_stages_it_was_not_given(dag_runs):
    first, then = dag_runs["first"]["states"], dag_runs["then"]["states"]
    ingest = {f"ingest_{p.stem}" for p in (ROOT / "conf/base/contracts").glob("*.yml")}
    assert {t for t in first if t.startswith("ingest_")} == ingest
    assert {t for t, s in first.items() if s == "skipped"} == {"score", "allocate", "publish"}, first
    assert {t for t, s in then.items() if s == "success"} == {"score", "allocate", "publish", "summary"}, then
    assert {t for t, s in then.items() if s == "skipped"} == ingest | {"quality_gate", "resolve", "profile"}, then
    assert dag_runs["retrain"]["states"] == {"train": "success", "promote": "success"}
    for name in ("first", "retrain", "then"):
        assert dag_runs[name]["run_state"] == "success", name
    assert all(s in ("success", "skipped") for s in first.values()), first
    # the summary task ran after the skipped stages and printed the cycle (its log is in the run's output)
    assert f"== cycle {CYCLE}" in dag_runs["first"]["log"]
    assert "promoted" in dag_runs["retrain"]["log"]


def test_the_lake_holds_the_cycle(dag_runs, setting, spark):
    from dtsen.catalog import Catalog
    from dtsen.config import load_config

    cat = Catalog(load_config("test").with_overrides({"catalog": {"lake_root": str(setting["lake"])}}))
    recon = cat.read(spark, "ingest_reconciliation", CYCLE).toPandas()
    landed = {p.parent.name for p in (setting["lake"] / "landing" / CYCLE).glob("*/*")}
    assert set(recon["source"]) == landed and len(landed) == 9      # every ingest task kept its own rows
    assert recon["balanced"].all()
    gate = json.loads((setting["lake"] / "reports" / CYCLE / "quality_gate.json").read_text())
    assert gate["passed"] and {s["source"] for s in gate["sources"]} == landed
    truth = cat.read(spark, "truth_persons", CYCLE).count()
    residents = cat.read(spark, "residents", CYCLE)
    assert residents.where(F.col("family_id").isNull()).count() == 0
    # resolve dedups the registry, it never invents people; a rejected dukcapil file may lose some
    assert truth / 2 <= residents.count() <= truth
    assert residents.select("resident_id").distinct().count() == residents.count()
    profiles = cat.read(spark, "family_profiles", CYCLE)
    assert profiles.count() == residents.select("family_id").distinct().count()
    # after the retrain: the champion scored every family, allocation gave each one status, files published
    scores = cat.read(spark, "family_scores", CYCLE)
    assert scores.count() == profiles.count()
    assert scores.where(F.col("model_version").isNull() | F.col("desil").isNull()).count() == 0
    status = cat.read(spark, "family_status", CYCLE).where(F.col("family_id").isNotNull())
    assert status.count() == status.select("family_id").distinct().count() == profiles.count()
    index = json.loads((setting["lake"] / "publish" / CYCLE / "index.json").read_text())
    recipients = cat.read(spark, "recipients", CYCLE).where(F.col("outcome") == "recipient").count()
    assert sum(f["rows"] for f in index["files"] if f["format"] == "csv") == recipients > 0
    assert all((setting["lake"] / "publish" / CYCLE / f["program"] / f["file"]).exists() for f in index["files"])
