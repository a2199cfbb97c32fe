"""The linkage model's configuration: each model trains on its own EM blocks, and a conf that does not
say which blocks belong to which model stops with a message naming the key; EM's estimate for a
day/month swap is kept above its floor; the u estimate runs a whole number of jobs (no Spark needed).
And the name level for a middle name dropped or abbreviated, evaluated by Spark as Splink runs it."""
from __future__ import annotations

import pytest

from dtsen.config import ConfigError
from dtsen.resolve.matcher import SWAPPED, Matcher, _same_ends, floor_swapped_m


def test_registry_and_agency_models_train_on_their_own_blocks(conf):
    em = conf.get("resolve.probabilistic.em_blocking_rules")
    assert Matcher(None, conf, dedupe=True).em_rules == em["dedupe"]
    assert Matcher(None, conf, dedupe=False).em_rules == em["link"]
    # agency records carry no KK: a block on it would hold no agency pair to train on
    assert not any("kk_token" in rule for rule in em["link"])


@pytest.mark.parametrize("bad", [[["name_key_token", "birth_date"]], {"dedupe": "name_key_token"},
                                 {"dedupe": [["name_key_token"]], "link": []}])
def test_em_blocks_without_a_list_per_model_stop_the_run(conf, bad):
    broken = conf.with_overrides({"resolve": {"probabilistic": {"em_blocking_rules": bad}}})
    with pytest.raises(ConfigError, match="em_blocking_rules.*`dedupe`.*`link`"):
        Matcher(None, broken, dedupe=True)


def test_an_unknown_column_in_an_em_block_is_named(conf):
    em = {"dedupe": [["name_key_token", "mother_name"]], "link": [["birth_date", "regency"]]}
    broken = conf.with_overrides({"resolve": {"probabilistic": {"em_blocking_rules": em}}})
    with pytest.raises(ConfigError, match="mother_name"):
        Matcher(None, broken, dedupe=True)


def _model(m):
    level = {"label_for_charts": SWAPPED, "u_probability": 1e-5}
    if m is not None:
        level["m_probability"] = m
    return {"comparisons": [{"output_column_name": "birth_date", "comparison_levels": [
        {"label_for_charts": "Exact match on birth_date", "m_probability": 0.002}, level]}]}


@pytest.mark.parametrize("estimated, after, changed", [(0.0004, 0.01, True), (None, 0.01, True), (0.05, 0.05, False)])
def test_day_month_swapped_keeps_ems_estimate_above_the_floor(estimated, after, changed):
    model = _model(estimated)
    assert floor_swapped_m(model, 0.01) is changed
    levels = model["comparisons"][0]["comparison_levels"]
    assert levels[1]["m_probability"] == after
    assert levels[0]["m_probability"] == 0.002          # other levels are left as trained


@pytest.mark.parametrize("bad", [None, 0, 1.5, "often"])
def test_a_missing_or_impossible_swapped_floor_stops_the_run(conf, bad):
    broken = conf.with_overrides({"resolve": {"probabilistic": {"min_m_day_month_swapped": bad}}})
    with pytest.raises(ConfigError, match="min_m_day_month_swapped"):
        Matcher(None, broken, dedupe=True)


@pytest.mark.parametrize("bad", [None, 0, -2, 2.5, "all", True])
def test_a_missing_or_impossible_u_chunk_count_stops_the_run(conf, bad):
    broken = conf.with_overrides({"resolve": {"probabilistic": {"u_chunks": bad}}})
    with pytest.raises(ConfigError, match="u_chunks"):
        Matcher(None, broken, dedupe=True)


@pytest.mark.parametrize("left,right,same", [
    ("EKO SUSILO HAKIM", "EKO S HAKIM", True),          # middle name cut to an initial
    ("EKO SUSILO HAKIM", "EKO HAKIM", True),            # middle name dropped
    ("SITI", "SITI", True),                             # one word: first and last are the same word
    ("EKO SUSILO HAKIM", "EKO SUSILO", False),          # the last name differs
    ("EKO HAKIM", "EKA HAKIM", False),                  # the first name differs
])
def test_same_first_and_last_word(spark, left, right, same):
    got = spark.createDataFrame([(left, right)], "name_l string, name_r string") \
        .selectExpr(f"{_same_ends('name')} AS same").first()["same"]
    assert got is same
