"""Reasons a family can be told: its score's largest contributions as short sentences in Indonesian
and English ("memiliki mobil 2.000 cc" / "owns a 2,000 cc car").

A contribution is a feature's additive part of the predicted log consumption (tree SHAP for LightGBM,
coefficient x centred value for OLS). The reasons are the top_k features by absolute contribution
(ties: feature order) that have a template in conf (score.explanations.templates) and push by at
least min_contribution; a feature with value 0 or unknown uses the template's *_none text, and is
skipped when the template has none.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtsen.config import Config, ConfigError
from dtsen.score.features import FEATURES, KEYS

LANGS = ("id", "en")


@dataclass(frozen=True)
class ReasonParams:
    top_k: int
    min_contribution: float
    templates: dict[str, dict[str, str]]

    @classmethod
    def from_conf(cls, conf: Config) -> ReasonParams:
        e = conf.section("score.explanations")
        templates = e.get("templates") or {}
        for feat, t in templates.items():
            if feat not in FEATURES:
                raise ConfigError(f"score.explanations.templates: '{feat}' is not a feature (features.FEATURES)")
            if not isinstance(t, dict) or not all(isinstance(t.get(lang), str) for lang in LANGS):
                raise ConfigError(f"score.explanations.templates.{feat} needs an 'id' and an 'en' text")
            labels = t.get("labels", {})
            if not isinstance(labels, dict) or not all(isinstance(v, list) and len(v) == len(LANGS)
                                                       for v in labels.values()):
                raise ConfigError(f"score.explanations.templates.{feat}.labels must map each code to "
                                  f"[Indonesian, English]")
            if "{label}" in t["id"] and not labels:
                raise ConfigError(f"score.explanations.templates.{feat} uses {{label}} but has no labels")
            if "show" in t and t["show"] not in FEATURES and t["show"] not in KEYS:
                raise ConfigError(f"score.explanations.templates.{feat}.show: '{t['show']}' is neither a feature "
                                  f"nor a key column (features.FEATURES, features.KEYS)")
        top_k = e.get("top_k")
        if not isinstance(top_k, int) or top_k < 0:
            raise ConfigError(f"score.explanations.top_k must be a whole number >= 0, got {top_k!r}")
        return cls(top_k, float(e["min_contribution"]), {k: dict(v) for k, v in templates.items()})


def number(value: float, lang: str) -> str:
    """2000 -> '2.000' (id) / '2,000' (en); one decimal below 10 when not whole (1.5 -> '1,5' / '1.5')."""
    if abs(value - round(value)) < 1e-9 or abs(value) >= 10:
        text = f"{round(value):,d}"
    else:
        text = f"{value:,.1f}"
    if lang == "id":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _present(v: float) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and v != 0


def reason_text(feature: str, row, params: ReasonParams, lang: str) -> str | None:
    """The reason for one feature of one family; row maps feature names to values (dict, Series)."""
    t = params.templates.get(feature)
    if t is None:
        return None
    value = row[feature]
    if not _present(value):
        return t.get(f"{lang}_none")
    shown = row[t["show"]] if "show" in t else value
    shown_text = number(float(shown), lang) if _present(shown) else "0"
    label = None
    if "labels" in t:
        names = t["labels"].get(int(value))
        if names is None:                     # a code without a name: no reason rather than a bare code
            return None
        label = names[LANGS.index(lang)]
    return t[lang].format(value=number(float(value), lang), show=shown_text, label=label)


class _Row:
    """One family's values, looked up on demand (a dict per family would cost a copy of every feature)."""

    __slots__ = ("cols", "i")

    def __init__(self, cols: dict[str, np.ndarray], i: int) -> None:
        self.cols, self.i = cols, i

    def __getitem__(self, name: str) -> float:
        return self.cols[name][self.i]


def reasons(parts: np.ndarray, values: pd.DataFrame, features: list[str], params: ReasonParams
            ) -> tuple[list[list[str]], list[list[str]]]:
    """Per row of `parts` (rows x features contributions) the reasons in Indonesian and in English."""
    out_id: list[list[str]] = []
    out_en: list[list[str]] = []
    if params.top_k == 0 or len(parts) == 0:
        return [[] for _ in range(len(parts))], [[] for _ in range(len(parts))]
    usable = np.array([f in params.templates for f in features])
    mag = np.where(usable[None, :], np.abs(parts), 0.0)
    mag = np.where(mag >= params.min_contribution, mag, 0.0)
    order = np.argsort(-mag, axis=1, kind="stable")
    cols = {f: values[f].to_numpy(dtype=float) for f in set(features) | {t["show"] for t in params.templates.values()
                                                                         if "show" in t} if f in values.columns}
    for i in range(len(parts)):
        ids, ens = [], []
        for j in order[i]:
            if mag[i, j] <= 0 or len(ids) >= params.top_k:
                break
            f = features[j]
            row = _Row(cols, i)
            text_id, text_en = reason_text(f, row, params, "id"), reason_text(f, row, params, "en")
            if text_id is None or text_en is None:
                continue
            ids.append(text_id)
            ens.append(text_en)
        out_id.append(ids)
        out_en.append(ens)
    return out_id, out_en
