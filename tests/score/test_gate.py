"""The promotion gate on held-out figures: better and fair passes, worse or less fair does not, and
the first model must pass the floors."""
from __future__ import annotations

import pytest

from dtsen.config import ConfigError
from dtsen.score.promote import Gate, decide

GATE = Gate(coverage=0.4, min_improvement=0.01, fairness_tolerance=0.25, max_exclusion_error=0.6,
            min_spearman=0.4, min_auc=0.65, max_fairness_ratio=10.0, group_by=("province_code", "urban"))


def figures(exclusion=0.30, spearman=0.6, auc=0.8, fair_province=2.0, fair_urban=1.2):
    return {"exclusion_error_40": exclusion, "spearman": spearman, "auc_below_poverty_line": auc,
            "fairness_ratio_province_code_40": fair_province, "fairness_ratio_urban_40": fair_urban}


def test_a_better_and_as_fair_challenger_is_promoted():
    d = decide(figures(exclusion=0.25), figures(exclusion=0.30), GATE)
    assert d.promote and "0.3000 -> 0.2500" in d.reasons[0]


def test_a_worse_challenger_is_rejected():
    d = decide(figures(exclusion=0.31), figures(exclusion=0.30), GATE)
    assert not d.promote and "does not improve" in d.reasons[0]


def test_an_improvement_smaller_than_the_minimum_is_rejected():
    assert not decide(figures(exclusion=0.295), figures(exclusion=0.30), GATE).promote


def test_a_better_but_less_fair_challenger_is_rejected():
    d = decide(figures(exclusion=0.20, fair_province=2.3), figures(exclusion=0.30, fair_province=2.0), GATE)
    assert not d.promote
    assert d.reasons == ("fairness ratio by province_code widens from 2.0000 to 2.3000 (tolerance 0.25)",)
    # within the tolerance it passes
    assert decide(figures(exclusion=0.20, fair_province=2.2), figures(exclusion=0.30), GATE).promote


def test_the_first_model_needs_the_floors_only():
    assert decide(figures(), None, GATE).promote
    d = decide(figures(exclusion=0.7, auc=0.6), None, GATE)
    assert not d.promote and len(d.reasons) == 2
    assert not decide(figures(fair_urban=12.0), None, GATE).promote


def test_a_challenger_below_a_floor_is_rejected_even_when_better():
    assert not decide(figures(exclusion=0.25, spearman=0.3), figures(exclusion=0.5, spearman=0.2), GATE).promote


def test_unknown_fairness_does_not_block():
    assert decide(figures(exclusion=0.2, fair_province=None), figures(fair_province=2.0), GATE).promote


def test_gate_conf_is_checked(conf):
    Gate.from_conf(conf)
    with pytest.raises(ConfigError, match="score.gate.coverage"):
        Gate.from_conf(conf.with_overrides({"score": {"gate": {"coverage": 0.33}}}))
    with pytest.raises(ConfigError, match="floors"):
        Gate.from_conf(conf.with_overrides({"score": {"gate": {"floors": {"min_auc": "high"}}}}))
