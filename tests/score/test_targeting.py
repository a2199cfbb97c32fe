"""Targeting-quality measures on hand-built held-out families (errors computed by hand)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dtsen.score import evaluate as ev

PARAMS = ev.EvalParams(coverages=(0.4,), poverty_line=100.0, group_by=("province_code",), min_poor_families=1,
                       error_floor=0.02)


def frame(true, weight, province):
    return pd.DataFrame({"label_pcc": np.asarray(true, dtype=float), "weight": np.asarray(weight, dtype=float),
                         "family_id": [f"f{i}" for i in range(len(true))], "province_code": province})


def test_exclusion_and_both_inclusion_errors_are_told_apart():
    # ten single-person families; truly poorest 4 (40% coverage): f0..f3
    true = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    # the model swaps f3 with f6: selects f0, f1, f2, f6
    pred = [10, 20, 30, 65, 50, 60, 35, 80, 90, 100]
    r = ev.evaluate(frame(true, [1] * 10, ["11"] * 5 + ["12"] * 5), np.array(pred, float), PARAMS)["overall"]
    assert r["exclusion_error_40"] == pytest.approx(1 / 4)           # f3 of the 4 poor missed
    assert r["inclusion_error_alatas_40"] == pytest.approx(1 / 6)    # f6 of the 6 non-poor selected
    assert r["inclusion_error_wb_40"] == pytest.approx(1 / 4)        # 1 of the 4 selected not poor


def test_person_weights_count_people_not_families():
    # poor by persons at 40% of 10 persons: f0 (4 persons, midpoint 2) and f1 (1 person, midpoint 4.5 >= 4: out)
    true, w = [10, 20, 30, 40, 50, 60, 70], [4, 1, 1, 1, 1, 1, 1]
    pred = [20, 10, 30, 40, 50, 60, 70]            # f1 ranked first: its midpoint 0.5, f0's then 3 -> both in
    r = ev.evaluate(frame(true, w, ["11"] * 7), np.array(pred, float), PARAMS)["overall"]
    assert r["exclusion_error_40"] == pytest.approx(0.0)
    assert r["inclusion_error_wb_40"] == pytest.approx(1 / 5)        # f1's 1 person of the 5 selected


def test_fairness_ratio_is_largest_over_smallest_group_error():
    # province 11: poor f0, f1 both found; province 12: poor f5, f6, one missed
    true = [10, 11, 50, 60, 70, 12, 13, 80, 90, 100]
    pred = [10, 11, 50, 60, 70, 12, 95, 80, 13, 100]
    r = ev.evaluate(frame(true, [1] * 10, ["11"] * 5 + ["12"] * 5), np.array(pred, float), PARAMS)
    g = r["groups"]["province_code"]
    assert g["11"]["exclusion_error_40"] == 0.0 and g["12"]["exclusion_error_40"] == pytest.approx(0.5)
    # the zero error counts as the floor 0.02: 0.5 / 0.02
    assert r["fairness"]["fairness_ratio_province_code_40"] == pytest.approx(25.0)


def test_spearman_and_auc_of_a_perfect_ranking():
    true = np.arange(1, 21) * 10.0
    r = ev.evaluate(frame(true, [1] * 20, ["11"] * 20), true * 1.5, PARAMS)["overall"]
    assert r["spearman"] == pytest.approx(1.0) and r["auc_below_poverty_line"] == pytest.approx(1.0)
    assert r["exclusion_error_40"] == 0.0
