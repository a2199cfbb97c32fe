"""Welfare scoring end to end on the generated population: training tracked and registered in
MLflow, the gate, batch scoring in Spark with person-weighted deciles and reasons."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from pyspark.sql import functions as F

from dtsen.cli import main
from dtsen.config import ConfigError
from dtsen.score import features as fx
from dtsen.score import registry
from dtsen.score.explain import number
from dtsen.score.job import score
from dtsen.score.promote import promote
from dtsen.score.train import SNAPSHOT, train

H1, H2 = "2026H1", "2026H2"


@pytest.fixture(scope="module")
def client(scored, conf):
    registry.client(conf)
    return MlflowClient()


def runs(client, conf, stage):
    exp = client.get_experiment_by_name(conf.get("tracking.experiments.welfare"))
    return client.search_runs([exp.experiment_id], f"tags.stage = '{stage}'")


def test_training_runs_are_tracked_with_data_versions_plots_and_a_signature(scored, client, conf):
    t = scored["train"]
    assert t["labelled_families"] >= 300 and set(t["split"]) == {"train", "validation", "test"}
    assert t["labels"]["used"] == t["labelled_families"]
    tracked = {r.data.tags["model_kind"]: r for r in runs(client, conf, "train")}
    assert set(tracked) == {"ols", "lightgbm"}
    for kind, run in tracked.items():
        p = run.data.params
        assert p["data_version.silver_consumption"] == str(t["data_versions"]["silver_consumption"])
        assert p["data_version.score_training_set"] == str(t["data_versions"][SNAPSHOT])
        assert p["families_test"] == str(t["split"]["test"])
        m = run.data.metrics
        for c in ("10", "20", "40"):
            assert 0 <= m[f"test_exclusion_error_{c}"] <= 1
            assert 0 <= m[f"test_inclusion_error_alatas_{c}"] <= 1 and 0 <= m[f"test_inclusion_error_wb_{c}"] <= 1
        assert m["test_exclusion_error_40"] == pytest.approx(t["runs"][kind]["test"]["exclusion_error_40"], abs=1e-4)
        plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert {f"plots/{n}.png" for n in ("calibration", "decile_confusion", "feature_importance",
                                           "error_by_province")} <= plots
    # the challenger carries equal-opportunity offsets per family type (conf/test/score.yml), logged
    # with the run and read from the input the signature names; the baseline carries none
    lgb, ols = tracked["lightgbm"].data.params, tracked["ols"].data.params
    assert lgb["equalize_by"] == "family_type" and ols["equalize_by"] == "none"
    offsets = {k[len("offset."):]: float(v) for k, v in lgb.items() if k.startswith("offset.")}
    assert len(offsets) >= 2 and len(set(offsets.values())) >= 2
    assert not any(k.startswith("offset.") for k in ols)
    v = client.get_model_version(registry.model_name(conf), t["runs"]["lightgbm"]["version"])
    info = __import__("mlflow").models.get_model_info(f"models:/{registry.model_name(conf)}/{v.version}")
    assert info.signature is not None and {"log_members", "family_type"} <= set(info.signature.inputs.input_names())
    assert info.saved_input_example_info is not None
    model = registry.load(registry.model_name(conf), v)
    assert model.offset_by == "family_type" and model.offsets == pytest.approx(offsets, abs=1e-6)


def test_the_first_champion_passed_the_floors_and_both_aliases_are_set(scored, client, conf):
    p, t = scored["promote"], scored["train"]
    assert p["promoted"] and p["champion_before"] is None and p["reasons"] == ["first model: passes every floor"]
    name = registry.model_name(conf)
    assert str(client.get_model_version_by_alias(name, "champion").version) == t["challenger"]
    assert str(client.get_model_version_by_alias(name, "challenger").version) == t["challenger"]
    decision = runs(client, conf, "promote")[0]
    assert decision.data.tags["decision"] == "promoted" and decision.data.metrics["promoted"] == 1.0


def test_every_profiled_family_is_scored_once_by_the_champion(scored, spark, cat, conf):
    champion = scored["promote"]["champion"]
    for c in (H1, H2):
        s = cat.read(spark, "family_scores", c)
        profiles = cat.read(spark, "family_profiles", c)
        assert s.count() == s.select("family_id").distinct().count() == profiles.count()
        assert s.join(profiles, "family_id", "left_anti").count() == 0
        ids = s.select("model_name", "model_version", "model_run_id").distinct().collect()
        assert len(ids) == 1 and ids[0]["model_version"] == champion
        assert ids[0]["model_run_id"] == scored["train"]["runs"]["lightgbm"]["run_id"]
        ranks = [r[0] for r in s.select("welfare_rank").orderBy("welfare_rank").collect()]
        assert ranks == list(range(1, len(ranks) + 1))


def test_deciles_hold_a_tenth_of_persons_and_map_to_categories(scored, spark, cat, conf):
    cats = {int(k): v for k, v in conf.get("score.scoring.categories").items()}
    for c in (H1, H2):
        s = cat.read(spark, "family_scores", c)
        shares = scored[c]["desil_person_share"]
        assert sorted(shares) == list(range(1, 11)) and all(abs(x - 0.1) < 0.01 for x in shares.values())
        pairs = {(r["desil"], r["category"]) for r in s.select("desil", "category").distinct().collect()}
        assert pairs == {(d, cats[d]) for d in range(1, 11)}
        # lower desil = poorer: the ranking follows the predicted consumption
        by = s.groupBy("desil").agg(F.max("predicted_pcc").alias("hi"), F.min("predicted_pcc").alias("lo"))
        bounds = sorted((r["desil"], r["lo"], r["hi"]) for r in by.collect())
        assert all(bounds[i][2] <= bounds[i + 1][1] for i in range(9))


def test_training_and_scoring_share_the_feature_pipeline(scored, spark, cat, conf):
    """The snapshot's features of each labelled family equal what the scoring path computes from the
    same profile, and the stored score is the champion's prediction on exactly those features."""
    snap = cat.read(spark, SNAPSHOT).toPandas()
    live = fx.feature_frame(cat.read(spark, "family_profiles"), fx.urban_villages(spark),
                            fx.FeatureParams.from_conf(conf))
    live = live.join(spark.createDataFrame(snap[["cycle", "family_id"]]), ["cycle", "family_id"]).toPandas()
    keys = ["cycle", "family_id"]
    a = snap.sort_values(keys).reset_index(drop=True)
    b = live.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(b) == scored["train"]["labelled_families"]
    pd.testing.assert_frame_equal(a[list(fx.FEATURE_NAMES)], b[list(fx.FEATURE_NAMES)], check_dtype=False)
    model = registry.load(registry.model_name(conf), scored["promote"]["champion"])
    expected = model.predict(None, a)["predicted_pcc"].to_numpy()
    stored = (cat.read(spark, "family_scores").join(spark.createDataFrame(a[keys]), keys)
              .select(*keys, "predicted_pcc").toPandas().sort_values(keys)["predicted_pcc"].to_numpy())
    np.testing.assert_allclose(stored, expected, rtol=1e-9)


def test_reasons_are_stored_in_both_languages_and_tell_the_truth(scored, spark, cat):
    s = cat.read(spark, "family_scores", H1)
    assert scored[H1]["families_without_reasons"] < 0.05 * scored[H1]["families"]
    assert s.where(F.size("reasons_id") != F.size("reasons_en")).count() == 0
    assert s.where(F.size("reasons_id") > 3).count() == 0
    # a reason that names an amount names the family's own (PLN connection and use, taxable income and
    # tax, cars, motorcycles, members, children, elderly, formal workers): whichever of them the
    # champion finds worth telling, every one is checked against the family's profile
    amounts = (("daya listrik ", " VA", "pln_capacity_va"), ("pemakaian listrik ", " kWh/bulan", "pln_kwh_month"),
               ("penghasilan kena pajak Rp ", " per tahun", "taxable_income_year"),
               ("pajak penghasilan Rp ", " per tahun", "tax_due_year"), ("memiliki ", " mobil", "cars"),
               ("memiliki ", " sepeda motor", "motorcycles"), ("", " anggota keluarga", "members"),
               ("", " anak balita (0-6 tahun)", "children_0_6"), ("", " lansia (60+)", "elderly_60_plus"),
               ("", " anggota bekerja formal", "formal_workers"))
    told = (s.select("family_id", F.explode("reasons_id").alias("r"))
            .join(cat.read(spark, "family_profiles", H1), "family_id")
            .select("r", *sorted({c for _, _, c in amounts})).collect())
    checked = 0
    for row in told:
        for prefix, suffix, column in amounts:
            r = row["r"]
            if r.startswith(prefix) and r.endswith(suffix) and re.fullmatch(r"[\d.,]+", r[len(prefix):-len(suffix)]):
                assert r == f"{prefix}{number(float(row[column]), 'id')}{suffix}"
                checked += 1
    assert checked >= 10, f"only {checked} reasons name an amount"


def test_a_worse_challenger_does_not_replace_the_champion(scored, spark, conf, client):
    """Retraining with the same seed reproduces the runs; making the OLS baseline the candidate gives
    a challenger with a higher exclusion error, which the gate rejects."""
    ols_conf = conf.with_overrides({"score": {"candidate": "ols"}})
    again = train(spark, ols_conf)
    first = scored["train"]["runs"]
    assert again["runs"]["lightgbm"]["test"] == first["lightgbm"]["test"]          # reproducible from the seed
    assert again["challenger"] == again["runs"]["ols"]["version"]
    assert first["ols"]["test"]["exclusion_error_40"] > first["lightgbm"]["test"]["exclusion_error_40"]
    decision = promote(spark, ols_conf)
    assert not decision["promoted"] and decision["champion"] == scored["promote"]["champion"]
    assert any("does not improve" in r for r in decision["reasons"])
    name = registry.model_name(conf)
    assert str(client.get_model_version_by_alias(name, "champion").version) == scored["promote"]["champion"]
    assert str(client.get_model_version_by_alias(name, "challenger").version) == again["challenger"]
    tags = sorted(r.data.tags["decision"] for r in runs(client, conf, "promote"))
    assert tags == ["promoted", "rejected"]


def test_rescoring_a_cycle_through_the_cli_replaces_it(scored, spark, cat, capsys):
    before = cat.read(spark, "family_scores", H1).select("family_id", "desil", "predicted_pcc").toPandas()
    assert main(["--env", "test", "score", "--cycle", H1, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    after = cat.read(spark, "family_scores", H1).select("family_id", "desil", "predicted_pcc").toPandas()
    assert out["families"] == len(before) == len(after)
    k = ["family_id"]
    pd.testing.assert_frame_equal(before.sort_values(k).reset_index(drop=True),
                                  after.sort_values(k).reset_index(drop=True))
    assert cat.read(spark, "family_scores", H2).count() == scored[H2]["families"]


def test_scoring_without_a_champion_says_what_to_run(scored, spark, conf):
    other = conf.with_overrides({"score": {"registered_model": "dtsen-welfare-unknown"}})
    with pytest.raises(ConfigError, match="dtsen promote"):
        score(spark, other, cycle=H1)
