"""Targeting quality of a welfare model on held-out labelled families (DESIGN.md, "How targeting
quality is measured"). Pure functions on pandas frames.

Everything is person-weighted (a family counts with members x survey weight): at a coverage c the
selected are the families ranked poorest by the model until c of all persons, the poor are those the
measured consumption ranks poorest until c of all persons (a family is in when the midpoint of its
persons falls inside c: the same rule as the national deciles). Then

* exclusion error = share of the poor not selected;
* inclusion error (Alatas et al.) = share of the non-poor who are selected;
* inclusion error (World Bank) = share of the selected who are not poor;

plus Spearman's rank correlation of predicted and measured consumption, the AUC of the prediction
for "below the poverty line", and per group (province, urban/rural, family type) the exclusion error,
with the fairness ratio: the largest exclusion error between groups over the smallest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtsen.config import Config, ConfigError


@dataclass(frozen=True)
class EvalParams:
    coverages: tuple[float, ...]
    poverty_line: float
    group_by: tuple[str, ...]
    min_poor_families: int
    error_floor: float

    @classmethod
    def from_conf(cls, conf: Config) -> EvalParams:
        e = conf.section("score.evaluation")
        cov = e.get("coverages")
        if not isinstance(cov, list) or not cov or not all(isinstance(c, (int, float)) and 0 < c < 1 for c in cov):
            raise ConfigError(f"score.evaluation.coverages must be a list of shares in (0, 1), got {cov!r}")
        return cls(tuple(float(c) for c in cov), float(e["poverty_line"]), tuple(e["group_by"]),
                   int(e["min_poor_families"]), float(e["error_floor"]))


def key(c: float) -> str:
    """0.4 -> '40': the suffix of metric names."""
    return f"{round(c * 100):d}"


def bottom_share(score: np.ndarray, weight: np.ndarray, tiebreak: np.ndarray, c: float) -> np.ndarray:
    """True for families ranked lowest by score (ties by tiebreak) whose persons' midpoint lies in the
    bottom c of all persons."""
    order = np.lexsort((tiebreak, score))
    w = weight[order]
    mid = np.cumsum(w) - w / 2
    inside = np.zeros(len(score), dtype=bool)
    inside[order] = mid < c * w.sum()
    return inside


def targeting(selected: np.ndarray, poor: np.ndarray, weight: np.ndarray) -> dict[str, float | None]:
    def share(num: np.ndarray, den: np.ndarray) -> float | None:
        d = float(weight[den].sum())
        return float(weight[num & den].sum()) / d if d > 0 else None

    return {"exclusion_error": share(~selected, poor),
            "inclusion_error_alatas": share(selected, ~poor),
            "inclusion_error_wb": share(~poor, selected)}


def _auc(y_true: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float | None:
    if y_true.all() or not y_true.any():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y_true, score, sample_weight=weight))


def evaluate(df: pd.DataFrame, predicted_pcc: np.ndarray, params: EvalParams) -> dict:
    """df: one row per held-out family with label_pcc, weight (persons x survey weight), family_id and
    the group_by columns. Returns {"overall": {...}, "groups": {dim: {group: {...}}}, "fairness": {...}}."""
    from scipy.stats import spearmanr

    true = df["label_pcc"].to_numpy(dtype=float)
    pred = np.asarray(predicted_pcc, dtype=float)
    w = df["weight"].to_numpy(dtype=float)
    ids = df["family_id"].to_numpy()
    overall: dict = {"families": len(df), "persons_weight": float(w.sum())}
    if len(df) >= 3:
        overall["spearman"] = float(spearmanr(pred, true).statistic)
        overall["r2_log"] = float(1 - np.sum(w * (np.log(true) - np.log(pred)) ** 2)
                                  / np.sum(w * (np.log(true) - np.average(np.log(true), weights=w)) ** 2))
    overall["auc_below_poverty_line"] = _auc(true < params.poverty_line, -pred, w)
    flags = {}
    for c in params.coverages:
        sel = bottom_share(pred, w, ids, c)
        poor = bottom_share(true, w, ids, c)
        flags[c] = (sel, poor)
        for name, value in targeting(sel, poor, w).items():
            overall[f"{name}_{key(c)}"] = value
    groups: dict = {}
    fairness: dict = {}
    for dim in params.group_by:
        values = df[dim].astype(str).fillna("unknown").to_numpy()
        per: dict = {}
        for g in sorted(set(values)):
            m = values == g
            row: dict = {"families": int(m.sum())}
            for c, (sel, poor) in flags.items():
                row[f"poor_families_{key(c)}"] = int((poor & m).sum())
                row[f"exclusion_error_{key(c)}"] = targeting(sel[m], poor[m], w[m])["exclusion_error"]
            per[g] = row
        groups[dim] = per
        for c in flags:
            errs = [r[f"exclusion_error_{key(c)}"] for r in per.values()
                    if r[f"poor_families_{key(c)}"] >= params.min_poor_families
                    and r[f"exclusion_error_{key(c)}"] is not None]
            fairness[f"fairness_ratio_{dim}_{key(c)}"] = (
                max(errs) / max(min(errs), params.error_floor) if len(errs) >= 2 else None)
            fairness[f"groups_compared_{dim}_{key(c)}"] = len(errs)
    return {"overall": overall, "groups": groups, "fairness": fairness}


def flat_metrics(result: dict, prefix: str = "") -> dict[str, float]:
    """The scalar figures for MLflow (None and NaN left out)."""
    out = {}
    for part in ("overall", "fairness"):
        for k, v in result[part].items():
            if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                out[f"{prefix}{k}"] = float(v)
    return out


def decile_confusion(true: np.ndarray, pred: np.ndarray, weight: np.ndarray, ids: np.ndarray,
                     n: int = 10) -> np.ndarray:
    """Person-weighted (true desil x predicted desil) shares on the held-out families."""
    def desil(score: np.ndarray) -> np.ndarray:
        order = np.lexsort((ids, score))
        w = weight[order]
        mid = (np.cumsum(w) - w / 2) / w.sum()
        out = np.empty(len(score), dtype=int)
        out[order] = np.minimum((mid * n).astype(int), n - 1)
        return out

    m = np.zeros((n, n))
    np.add.at(m, (desil(true), desil(pred)), weight)
    return m / m.sum()


def by_group_table(result: dict, dim: str, c: float) -> pd.DataFrame:
    rows = [{"group": g, "families": r["families"], "poor_families": r[f"poor_families_{key(c)}"],
             "exclusion_error": r[f"exclusion_error_{key(c)}"]} for g, r in result["groups"][dim].items()]
    return pd.DataFrame(rows)
