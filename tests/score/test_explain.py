"""Reasons a family is told: the largest contributions, as short Indonesian and English sentences."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dtsen.config import ConfigError
from dtsen.score.explain import ReasonParams, number, reason_text, reasons

FEATS = ["car_max_cc", "pln_capacity_va", "log_members", "survey_roof_type", "province"]


@pytest.fixture(scope="module")
def params(conf):
    return ReasonParams.from_conf(conf)


def test_numbers_are_written_the_way_each_language_does():
    assert number(2000, "id") == "2.000" and number(2000, "en") == "2,000"
    assert number(1.5, "id") == "1,5" and number(1.5, "en") == "1.5"
    assert number(238956000, "id") == "238.956.000"


def test_each_kind_of_template(params):
    row = {"car_max_cc": 2000.0, "pln_capacity_va": 2200.0, "log_members": np.log(5), "members": 5,
           "survey_roof_type": 1.0}
    assert reason_text("car_max_cc", row, params, "id") == "memiliki mobil 2.000 cc"
    assert reason_text("pln_capacity_va", row, params, "id") == "daya listrik 2.200 VA"
    assert reason_text("pln_capacity_va", row, params, "en") == "2,200 VA electricity connection"
    assert reason_text("log_members", row, params, "id") == "5 anggota keluarga"          # shows `members`
    assert reason_text("survey_roof_type", row, params, "id") == "atap ijuk/rumbia"       # a coded value's name
    assert reason_text("survey_roof_type", row, params, "en") == "thatched roof"
    none = {"car_max_cc": 0.0, "pln_capacity_va": float("nan")}
    assert reason_text("car_max_cc", none, params, "id") == "tidak memiliki mobil"
    assert reason_text("pln_capacity_va", none, params, "en") == "no PLN electricity connection"
    assert reason_text("province", {"province": 32.0}, params, "id") is None               # no template
    assert reason_text("survey_roof_type", {"survey_roof_type": 8.0}, params, "id") is None  # unnamed code


def test_reasons_are_the_largest_pushes_with_a_template(params):
    values = pd.DataFrame({"car_max_cc": [2000.0, 0.0], "pln_capacity_va": [2200.0, 450.0],
                           "log_members": [np.log(3), np.log(7)], "members": [3, 7],
                           "survey_roof_type": [5.0, 1.0], "province": [31.0, 53.0]})
    parts = np.array([[0.30, 0.10, -0.05, 0.01, 0.90],      # province is largest but has no template
                      [-0.01, -0.20, -0.25, -0.03, 0.00]])  # the car's -0.01 is below min_contribution
    ids, ens = reasons(parts, values, FEATS, params)
    assert ids[0] == ["memiliki mobil 2.000 cc", "daya listrik 2.200 VA", "3 anggota keluarga"]
    assert ens[1] == ["7 family members", "450 VA electricity connection", "thatched roof"]
    assert len(ids[1]) == 3 and "tidak memiliki mobil" not in ids[1]


def test_top_k_and_threshold_come_from_conf(conf):
    p = ReasonParams.from_conf(conf.with_overrides({"score": {"explanations": {"top_k": 1, "min_contribution": 0.5}}}))
    values = pd.DataFrame({f: [1.0] for f in FEATS} | {"members": [1]})
    ids, _ = reasons(np.array([[0.6, 0.55, 0.0, 0.0, 0.0]]), values, FEATS, p)
    assert ids == [["memiliki mobil 1 cc"]]
    ids, _ = reasons(np.array([[0.4, 0.3, 0.0, 0.0, 0.0]]), values, FEATS, p)
    assert ids == [[]]


def test_template_mistakes_stop_with_a_message(conf):
    bad = {"score": {"explanations": {"templates": {"no_such_feature": {"id": "x", "en": "x"}}}}}
    with pytest.raises(ConfigError, match="no_such_feature"):
        ReasonParams.from_conf(conf.with_overrides(bad))
    bad = {"score": {"explanations": {"templates": {"taxpayers": {"id": "x"}}}}}
    with pytest.raises(ConfigError, match="taxpayers"):
        ReasonParams.from_conf(conf.with_overrides(bad))
