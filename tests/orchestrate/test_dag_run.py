"""`airflow dags test` for real: Airflow in .venv-airflow with its own SQLite home, every task
spark-submitting its job into the jobs venv (local[2]) on a 3,000-resident population generated into a
throw-away lake (the fixtures are in conftest.py). A registry's first cycle, as ops run it:

1. `dtsen_cycle` with stages ingest .. profile (+ summary): score, allocate and publish are skipped,
   since no model has been trained yet (score needs a champion);
2. `dtsen_retrain`: train on the cycle's survey labels, promote the first champion;
3. `dtsen_cycle` again for the same cycle with stages score, allocate, publish.

Then the lake must hold the whole cycle: every source ingested and reconciled, the gate's decision,
residents with family ids, family profiles, scores by the champion, one status per family and the
recipient files with their index. A few minutes per Spark task on a 2-core machine: this is the
slowest test of the suite."""
from __future__ import annotations

import json

from airflow_env import ROOT
from pyspark.sql import functions as F


def test_each_run_succeeds_and_skips_only_the_stages_it_was_not_given(dag_runs, setting):
    first, then = dag_runs["first"]["states"], dag_runs["then"]["states"]
    ingest = {f"ingest_{p.stem}" for p in (ROOT / "conf/base/contracts").glob("*.yml")}
    assert {t for t in first if t.startswith("ingest_")} == ingest
    assert {t for t, s in first.items() if s == "skipped"} == {"score", "allocate", "publish"}, first
    assert {t for t, s in then.items() if s == "success"} == {"score", "allocate", "publish"}, then
    assert {t for t, s in then.items() if s == "skipped"} == ingest | {"quality_gate", "resolve", "profile",
                                                                       "summary"}, then
    assert dag_runs["retrain"]["states"] == {"train": "success", "promote": "success"}
    for name in ("first", "retrain", "then"):
        assert dag_runs[name]["run_state"] == "success", name
    assert all(s in ("success", "skipped") for s in first.values()), first
    # the summary task ran after the skipped stages and printed the cycle (its log is in the run's output)
    assert f"== cycle {setting['cycle']}" in dag_runs["first"]["log"]
    assert "promoted" in dag_runs["retrain"]["log"]


def test_the_lake_holds_the_cycle(dag_runs, setting, spark):
    from dtsen.catalog import Catalog
    from dtsen.config import load_config

    cycle = setting["cycle"]
    cat = Catalog(load_config("test").with_overrides({"catalog": {"lake_root": str(setting["lake"])}}))
    recon = cat.read(spark, "ingest_reconciliation", cycle).toPandas()
    landed = {p.parent.name for p in (setting["lake"] / "landing" / cycle).glob("*/*")}
    assert set(recon["source"]) == landed and len(landed) == 9      # every ingest task kept its own rows
    assert recon["balanced"].all()
    gate = json.loads((setting["lake"] / "reports" / cycle / "quality_gate.json").read_text())
    assert gate["passed"] and {s["source"] for s in gate["sources"]} == landed
    # the one-source ingest tasks left the cycle's quality report to the gate: one row per source
    report = (setting["lake"] / "reports" / cycle / "ingest_quality.md").read_text()
    assert gate["quality_report"] and {line.split(" | ")[0].strip("| ") for line in report.splitlines()
                                       if line.startswith("| ") and " | yes |" in line} == landed
    truth = cat.read(spark, "truth_persons", cycle).count()
    residents = cat.read(spark, "residents", cycle)
    assert residents.where(F.col("family_id").isNull()).count() == 0
    # resolve dedups the registry, it never invents people; a rejected dukcapil file may lose some
    assert truth / 2 <= residents.count() <= truth
    assert residents.select("resident_id").distinct().count() == residents.count()
    profiles = cat.read(spark, "family_profiles", cycle)
    assert profiles.count() == residents.select("family_id").distinct().count()
    # after the retrain: the champion scored every family, allocation gave each one status, files published
    scores = cat.read(spark, "family_scores", cycle)
    assert scores.count() == profiles.count()
    assert scores.where(F.col("model_version").isNull() | F.col("desil").isNull()).count() == 0
    status = cat.read(spark, "family_status", cycle).where(F.col("family_id").isNotNull())
    assert status.count() == status.select("family_id").distinct().count() == profiles.count()
    index = json.loads((setting["lake"] / "publish" / cycle / "index.json").read_text())
    recipients = cat.read(spark, "recipients", cycle).where(F.col("outcome") == "recipient").count()
    assert sum(f["rows"] for f in index["files"] if f["format"] == "csv") == recipients > 0
    assert all((setting["lake"] / "publish" / cycle / f["program"] / f["file"]).exists() for f in index["files"])
