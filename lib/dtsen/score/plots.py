"""The plots every training run leaves in MLflow: calibration, decile confusion, feature importance,
exclusion error by province. Aggregates only (no family appears in a plot)."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dtsen.score import evaluate as ev  # noqa: E402


def _save(fig, folder: str, name: str) -> str:
    path = os.path.join(folder, name)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def calibration(true_pcc: np.ndarray, pred_pcc: np.ndarray, weight: np.ndarray, folder: str, title: str) -> str:
    """Mean measured vs mean predicted log consumption per predicted decile (on the diagonal = calibrated)."""
    lp, lt = np.log(pred_pcc), np.log(true_pcc)
    bins = np.quantile(lp, np.linspace(0, 1, 11))
    idx = np.clip(np.searchsorted(bins, lp, side="right") - 1, 0, 9)
    xs, ys = [], []
    for b in range(10):
        m = idx == b
        if m.any():
            xs.append(np.average(lp[m], weights=weight[m]))
            ys.append(np.average(lt[m], weights=weight[m]))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(xs, ys, "o-", label="per predicted decile")
    lo, hi = min(xs + ys), max(xs + ys)
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="calibrated")
    ax.set_xlabel("predicted log consumption per capita")
    ax.set_ylabel("measured log consumption per capita")
    ax.set_title(f"Calibration: {title}")
    ax.legend()
    return _save(fig, folder, "calibration.png")


def decile_confusion(matrix: np.ndarray, folder: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    im = ax.imshow(matrix * 100, cmap="Blues", origin="lower")
    n = matrix.shape[0]
    ax.set_xticks(range(n), [str(i + 1) for i in range(n)])
    ax.set_yticks(range(n), [str(i + 1) for i in range(n)])
    ax.set_xlabel("predicted desil")
    ax.set_ylabel("measured desil")
    ax.set_title(f"Decile confusion (% of persons): {title}")
    fig.colorbar(im, ax=ax)
    return _save(fig, folder, "decile_confusion.png")


def feature_importance(importance: pd.Series, folder: str, title: str, top: int = 20) -> str:
    s = importance.sort_values(ascending=False).head(top)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(s) + 1.2))
    ax.barh(s.index, s.to_numpy())
    ax.set_title(f"Feature importance: {title}")
    return _save(fig, folder, "feature_importance.png")


def error_by_province(result: dict, coverage: float, folder: str, title: str) -> str:
    t = ev.by_group_table(result, "province_code", coverage).sort_values("group")
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(t["group"], t["exclusion_error"].fillna(0.0).to_numpy())
    ax.set_xlabel("province")
    ax.set_ylabel(f"exclusion error at {ev.key(coverage)}% coverage")
    ax.set_title(f"Exclusion error by province: {title}")
    ax.tick_params(axis="x", rotation=90)
    return _save(fig, folder, "error_by_province.png")
