"""Equal-opportunity offsets: a per-group shift of a model's predicted log consumption so that, at one
coverage, every group's truly poor are missed at the same rate (the post-processing of Hardt, Price
and Srebro, "Equality of Opportunity in Supervised Learning", 2016, with exclusion error = 1 - true
positive rate).

Why: a model that ranks better overall can still miss the poor of one kind of household more than of
another (on the synthetic population LightGBM lowers every family type's exclusion error but single
persons' least, so the fairness ratio by family type widens). A shift per group moves that group's
families up or down the national ranking as a whole; within a group the order is the model's.

How, on held-out families with their measured consumption (`fit_offsets`):
1. the poor are the families the measured consumption ranks poorest until `coverage` of all persons;
2. for a common exclusion error e, each group's cut-off t_g(e) is the score below which a share 1 - e
   of the group's poor persons fall; with each group ranked against its own cut-off, the share of all
   persons selected falls as e rises: e is found (bisection) where that share is `coverage`;
3. the offset of group g is -t_g(e), shrunk toward the mean by `strength` (1: full equalization,
   0: none) and centred so the person-weighted mean offset is 0 (levels stay calibrated on average).
Groups with fewer than `min_poor_families` poor families are pooled into one "other" group: their
exclusion error would be noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtsen.config import Config, ConfigError
from dtsen.score.evaluate import bottom_share

OTHER = "_pooled"                 # the groups with too few poor families, together


@dataclass(frozen=True)
class EqualizeParams:
    by: str | None                  # the group column (None: no offsets)
    coverage: float
    min_poor_families: int
    strength: float
    folds: int                      # >= 2: fitted on out-of-fold predictions of the train split too

    @classmethod
    def from_conf(cls, conf: Config, kind: str) -> EqualizeParams:
        from dtsen.score.features import KEYS

        e = conf.get(f"score.models.{kind}.equalize", None) or {}
        by = e.get("by")
        if by is None:
            return cls(None, 0.0, 0, 0.0, 0)
        if by not in KEYS:
            raise ConfigError(f"score.models.{kind}.equalize.by must be a key column of the feature frame "
                              f"{KEYS}, got {by!r}")
        cov = e.get("coverage", conf.get("score.gate.coverage"))
        strength = e.get("strength", 1.0)
        if not isinstance(cov, (int, float)) or not 0 < cov < 1:
            raise ConfigError(f"score.models.{kind}.equalize.coverage must be a share in (0, 1), got {cov!r}")
        if not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
            raise ConfigError(f"score.models.{kind}.equalize.strength must be in [0, 1], got {strength!r}")
        folds = e.get("folds", 0)
        if not isinstance(folds, int) or folds < 0 or folds == 1:
            raise ConfigError(f"score.models.{kind}.equalize.folds must be 0 (validation split only) or >= 2, "
                              f"got {folds!r}")
        return cls(str(by), float(cov), int(e.get("min_poor_families", conf.get("score.evaluation.min_poor_families"))),
                   float(strength), folds)


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The smallest value at or below which a share q of the weight lies (q in [0, 1])."""
    order = np.argsort(values, kind="stable")
    v, cw = values[order], np.cumsum(weights[order])
    i = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(v[min(i, len(v) - 1)])


def fit_offsets(score: np.ndarray, true: np.ndarray, weight: np.ndarray, group: np.ndarray, ids: np.ndarray,
                params: EqualizeParams) -> dict[str, float]:
    """group -> offset to add to the score (predicted log consumption); OTHER for the pooled rest.
    Empty when there are fewer than two groups with enough poor families."""
    poor = bottom_share(true, weight, ids, params.coverage)
    group = group.astype(str)
    counts = {g: int((poor & (group == g)).sum()) for g in np.unique(group)}
    kept = sorted(g for g, n in counts.items() if n >= params.min_poor_families)
    if len(kept) < 2:
        return {}
    key = np.where(np.isin(group, kept), group, OTHER)
    persons = {g: float(weight[key == g].sum()) for g in [*kept, OTHER]}
    total = weight.sum()

    def cutoffs(e: float) -> dict[str, float]:
        t = {g: _weighted_quantile(score[poor & (key == g)], weight[poor & (key == g)], 1 - e)
             for g in [*kept, OTHER] if (poor & (key == g)).any()}
        if OTHER not in t:              # no poor in the pooled rest: it keeps the kept groups' mean cut-off
            t[OTHER] = float(np.average([t[g] for g in kept], weights=[persons[g] for g in kept]))
        return t

    def selected_share(e: float) -> float:
        t = cutoffs(e)
        cut = np.array([t[k] for k in key])
        return float(weight[score <= cut].sum() / total)

    lo, hi = 0.0, 1.0                  # the selected share falls as e rises
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if selected_share(mid) > params.coverage else (lo, mid)
    raw = {g: -t for g, t in cutoffs((lo + hi) / 2).items()}
    mean = sum(raw[g] * persons[g] for g in raw) / total
    return {str(g): round(float(params.strength * (v - mean)), 6) for g, v in raw.items()}


def apply_offsets(offsets: dict[str, float], group: np.ndarray) -> np.ndarray:
    """The offset of each row's group (OTHER's for a group not fitted; 0 without offsets)."""
    if not offsets:
        return np.zeros(len(group))
    other = offsets.get(OTHER, 0.0)
    return np.array([offsets.get(g, other) for g in group.astype(str)], dtype=float)
