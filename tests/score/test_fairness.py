"""Equal-opportunity offsets (score/fairness.py) on hand-built and simulated held-out families, and a
model carrying them."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from dtsen.config import ConfigError
from dtsen.score import evaluate as ev
from dtsen.score import fairness as fair
from dtsen.score.model import WelfareModel

FULL = fair.EqualizeParams(by="family_type", coverage=0.4, min_poor_families=1, strength=1.0, folds=0)


def exclusion_by_group(score, true, w, group, c=0.4):
    ids = np.array([f"f{i:05d}" for i in range(len(score))])
    sel, poor = ev.bottom_share(score, w, ids, c), ev.bottom_share(true, w, ids, c)
    return {g: ev.targeting(sel[group == g], poor[group == g], w[group == g])["exclusion_error"]
            for g in np.unique(group)}


def test_a_group_the_model_thinks_richer_is_moved_down_by_what_it_was_pushed_up():
    # two groups of ten single-person families with the same true consumption; the model ranks each
    # group right but puts group B 5 log points above group A: at 40% it selects A's eight poorest and
    # none of B, so B's four poor (of the eight in all) are all missed
    true = np.tile(np.arange(1.0, 11.0), 2)
    group = np.array(["A"] * 10 + ["B"] * 10)
    score = np.log(true) + np.where(group == "B", 5.0, 0.0)
    w = np.ones(20)
    before = exclusion_by_group(score, true, w, group)
    assert before == {"A": 0.0, "B": 1.0}
    offsets = fair.fit_offsets(score, true, w, group, np.arange(20).astype(str), FULL)
    # B's poor cut-off is 5 above A's: its offset is 5 below A's, centred on the person-weighted mean
    assert offsets["B"] - offsets["A"] == pytest.approx(-5.0, abs=1e-6)
    assert offsets["A"] + offsets["B"] == pytest.approx(0.0, abs=1e-6)
    after = exclusion_by_group(score + fair.apply_offsets(offsets, group), true, w, group)
    assert after == {"A": 0.0, "B": 0.0}


def test_offsets_equalize_exclusion_errors_on_simulated_families_and_carry_to_new_ones():
    rng = np.random.default_rng(7)

    def families(n):
        group = rng.choice(["single", "couple", "with_children"], size=n, p=[0.2, 0.3, 0.5])
        w = np.where(group == "single", 1.0, np.where(group == "couple", 2.0, rng.integers(3, 7, n)))
        true = rng.normal(0, 1, n)
        # the model is noisier for singles and thinks them richer than they are
        noise = np.where(group == "single", 1.0, 0.4)
        score = true + rng.normal(0, 1, n) * noise + np.where(group == "single", 0.5, 0.0)
        return score, np.exp(true), w, group

    params = fair.EqualizeParams("family_type", 0.4, 30, 1.0, 0)
    s, t, w, g = families(20000)
    offsets = fair.fit_offsets(s, t, w, g, np.arange(len(s)).astype(str), params)
    assert offsets["single"] < offsets["couple"] and offsets["single"] < offsets["with_children"]
    s2, t2, w2, g2 = families(20000)                                    # held out from the fit
    before = exclusion_by_group(s2, t2, w2, g2)
    after = exclusion_by_group(s2 + fair.apply_offsets(offsets, g2), t2, w2, g2)
    assert max(before.values()) / min(before.values()) > 2
    assert max(after.values()) / min(after.values()) < 1.25
    half = fair.fit_offsets(s, t, w, g, np.arange(len(s)).astype(str),
                            fair.EqualizeParams("family_type", 0.4, 30, 0.5, 0))
    assert half == pytest.approx({k: v / 2 for k, v in offsets.items()}, abs=1e-5)


def test_groups_with_too_few_poor_are_pooled_and_one_group_gets_no_offsets():
    true = np.arange(1.0, 21.0)                 # the poor at 40%: true 1..8, three in A and B, one in C and D
    group = np.array(list("ABABCABD") + list("ABCD") * 3)
    score = np.log(true) + np.where(group == "B", 1.0, 0.0)
    ids = np.arange(20).astype(str)
    params = fair.EqualizeParams("family_type", 0.4, 2, 1.0, 0)
    offsets = fair.fit_offsets(score, true, np.ones(20), group, ids, params)
    assert set(offsets) == {"A", "B", fair.OTHER}
    assert fair.apply_offsets(offsets, np.array(["C", "D", "E"])).tolist() == [offsets[fair.OTHER]] * 3
    only_a = np.where(group == "B", "A", group)
    assert fair.fit_offsets(score, true, np.ones(20), only_a, ids, params) == {}


def test_a_model_with_offsets_shifts_its_base_value_not_its_reasons():
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0],
                      "family_type": ["single", "couple", "single", "adults"]})
    y = np.array([1.0, 2.0, 3.0, 4.5])
    plain = WelfareModel.fit_ols(x[["a", "b"]], y, np.ones(4), pd.Series(["g"] * 4), min_group_families=100)
    model = plain.with_offsets("family_type", {"single": -0.3, "couple": 0.1, fair.OTHER: 0.05})
    shift = np.array([-0.3, 0.1, -0.3, 0.05])
    assert model.log_pcc(x) == pytest.approx(plain.log_pcc(x) + shift)
    base0, parts0 = plain.contributions(x)
    base, parts = model.contributions(x)
    assert parts == pytest.approx(parts0) and base == pytest.approx(base0 + shift)
    assert model.predict(None, x)["predicted_pcc"].to_numpy() == pytest.approx(np.exp(plain.log_pcc(x) + shift))
    with pytest.raises(ValueError, match="needs that column"):
        model.log_pcc(x.drop(columns="family_type"))
    old = pickle.loads(pickle.dumps(plain))                # as pickled before the offsets existed
    for k in ("offset_by", "offsets"):
        del old.__dict__[k]
    revived = pickle.loads(pickle.dumps(old))
    assert revived.offsets == {} and revived.log_pcc(x.drop(columns="family_type")) == pytest.approx(plain.log_pcc(x))


def test_equalize_conf_is_checked(conf):
    def params(e):
        return fair.EqualizeParams.from_conf(
            conf.with_overrides({"score": {"models": {"lightgbm": {"equalize": e}}}}), "lightgbm")

    assert params({"by": None}).by is None
    p = params({"by": "family_type", "strength": 0.5})
    assert (p.by, p.coverage, p.strength) == ("family_type", float(conf.get("score.gate.coverage")), 0.5)
    with pytest.raises(ConfigError, match="must be a key column"):
        params({"by": "cars"})
    with pytest.raises(ConfigError, match="strength must be in"):
        params({"by": "family_type", "strength": 2})
    with pytest.raises(ConfigError, match="coverage must be a share"):
        params({"by": "family_type", "coverage": 40})
