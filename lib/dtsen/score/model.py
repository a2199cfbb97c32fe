"""The welfare models: an OLS proxy-means test per region group (the baseline) and LightGBM (the
challenger), behind one MLflow pyfunc class so the registry, batch scoring and the explanations
treat both alike.

Both predict log per-capita consumption; `contributions` splits each prediction into a base value
plus one additive part per feature (exact for both: coefficient x centred value for OLS, tree SHAP
from LightGBM's own `pred_contrib`), which the explanations turn into reasons. A model may carry
equal-opportunity offsets per group (fairness.py): they shift the base value of the group's families,
never a feature's part, so they are no reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import mlflow.pyfunc
import numpy as np
import pandas as pd

from dtsen.score.fairness import apply_offsets

OLS, LIGHTGBM = "ols", "lightgbm"
KINDS = (OLS, LIGHTGBM)


@dataclass
class _Linear:
    mean: np.ndarray          # training means (missing values are filled with them)
    coef: np.ndarray
    intercept: float          # the weighted mean of the label: coefficients act on centred values
    scale: np.ndarray         # weighted standard deviation of each feature (importance = |coef| x scale)


def _fit_linear(x: np.ndarray, y: np.ndarray, w: np.ndarray, fallback_mean: np.ndarray) -> _Linear:
    """Weighted least squares on centred features (lstsq: the minimum-norm solution when a proxy is
    constant or collinear in a small group)."""
    mean = np.where(np.isnan(x).all(axis=0), fallback_mean,
                    np.nansum(x * w[:, None], axis=0) / np.maximum((~np.isnan(x) * w[:, None]).sum(axis=0), 1e-12))
    mean = np.nan_to_num(mean)
    xc = np.where(np.isnan(x), mean, x) - mean
    ybar = float(np.sum(y * w) / np.sum(w))
    sw = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(xc * sw, (y - ybar) * sw[:, 0], rcond=None)
    scale = np.sqrt((xc ** 2 * w[:, None]).sum(axis=0) / np.sum(w))
    return _Linear(mean, coef, ybar, scale)


@dataclass
class WelfareModel(mlflow.pyfunc.PythonModel):
    """A fitted model: `kind`, the features it reads (in order) and the fitted parts. predict() gives
    the predicted per-capita consumption in Rp a month (pyfunc); log_pcc() and contributions() are
    what scoring and the explanations use."""

    kind: str
    features: list[str]
    groups: dict[str, _Linear] = field(default_factory=dict)     # OLS: region group -> fit ("*": national)
    booster_model: str | None = None                             # LightGBM: the booster as text
    categorical: list[str] = field(default_factory=list)
    offset_by: str | None = None                                 # equal-opportunity offsets (fairness.py):
    offsets: dict[str, float] = field(default_factory=dict)      # group -> shift of the log prediction
    _booster: object = field(default=None, repr=False, compare=False)

    # -- fitting ---------------------------------------------------------------------------------
    @classmethod
    def fit_ols(cls, x: pd.DataFrame, y: np.ndarray, w: np.ndarray, region_group: pd.Series,
                min_group_families: int) -> WelfareModel:
        feats = list(x.columns)
        arr = x.to_numpy(dtype=float)
        national = _fit_linear(arr, y, w, np.zeros(len(feats)))
        groups = {"*": national}
        for g in sorted(region_group.unique()):
            sel = (region_group == g).to_numpy()
            if sel.sum() >= min_group_families:
                groups[g] = _fit_linear(arr[sel], y[sel], w[sel], national.mean)
        return cls(OLS, feats, groups=groups)

    @classmethod
    def fit_lightgbm(cls, x: pd.DataFrame, y: np.ndarray, w: np.ndarray, valid: tuple | None, *, params: dict,
                     categorical: list[str], num_boost_round: int, early_stopping_rounds: int,
                     seed: int) -> WelfareModel:
        import lightgbm as lgb

        cats = [c for c in categorical if c in x.columns]
        p = {**params, "seed": seed, "bagging_seed": seed, "feature_fraction_seed": seed, "data_random_seed": seed}
        train = lgb.Dataset(x, label=y, weight=w, categorical_feature=cats, free_raw_data=False)
        callbacks, sets = [], []
        if valid is not None and len(valid[0]):
            sets = [lgb.Dataset(valid[0], label=valid[1], weight=valid[2], reference=train,
                                categorical_feature=cats)]
            callbacks = [lgb.early_stopping(early_stopping_rounds, verbose=False)]
        booster = lgb.train(p, train, num_boost_round=num_boost_round, valid_sets=sets, callbacks=callbacks)
        text = booster.model_to_string(num_iteration=booster.best_iteration or None)
        return cls(LIGHTGBM, list(x.columns), booster_model=text, categorical=cats)

    # -- prediction ------------------------------------------------------------------------------
    def _lgb(self):
        if self._booster is None:
            import lightgbm as lgb

            self._booster = lgb.Booster(model_str=self.booster_model)
        return self._booster

    def rounds(self) -> int | None:
        """The boosting rounds a LightGBM model kept (None for OLS)."""
        return self._lgb().current_iteration() if self.kind == LIGHTGBM else None

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_booster"] = None               # rebuilt from the text on first use
        return state

    def __setstate__(self, state: dict) -> None:
        # a model pickled before the offsets existed has none
        self.__dict__.update({"offset_by": None, "offsets": {}, **state})

    def _matrix(self, x: pd.DataFrame) -> pd.DataFrame:
        return x[self.features].astype("float64")

    def with_offsets(self, by: str, offsets: dict[str, float]) -> WelfareModel:
        return replace(self, offset_by=by, offsets=dict(offsets), _booster=None)

    def _offset(self, x: pd.DataFrame) -> np.ndarray | float:
        if not self.offsets:
            return 0.0
        if self.offset_by not in x.columns:
            raise ValueError(f"this model shifts its predictions by {self.offset_by}: the input needs that column")
        return apply_offsets(self.offsets, x[self.offset_by].fillna("unknown").to_numpy())

    def _ols_parts(self, x: pd.DataFrame, region_group: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
        arr = self._matrix(x).to_numpy()
        n = len(arr)
        base, contrib = np.zeros(n), np.zeros_like(arr)
        keys = (region_group.to_numpy() if region_group is not None else np.full(n, "*")).astype(object)
        keys = np.where(np.isin(keys, list(self.groups)), keys, "*")
        for g in np.unique(keys):
            sel = keys == g
            fit = self.groups[g]
            xc = np.where(np.isnan(arr[sel]), fit.mean, arr[sel]) - fit.mean
            contrib[sel] = xc * fit.coef
            base[sel] = fit.intercept
        return base, contrib

    def contributions(self, x: pd.DataFrame, region_group: pd.Series | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(base, parts): log pcc = base + parts.sum(axis=1); parts is (rows, features)."""
        if self.kind == OLS:
            base, parts = self._ols_parts(x, region_group)
        else:
            out = self._lgb().predict(self._matrix(x), pred_contrib=True)
            base, parts = out[:, -1], out[:, :-1]
        return base + self._offset(x), parts

    def log_pcc(self, x: pd.DataFrame, region_group: pd.Series | None = None) -> np.ndarray:
        if self.kind == OLS:
            base, parts = self._ols_parts(x, region_group)
            return base + parts.sum(axis=1) + self._offset(x)
        return self._lgb().predict(self._matrix(x)) + self._offset(x)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        group = model_input["region_group"] if "region_group" in model_input.columns else None
        return pd.DataFrame({"predicted_pcc": np.exp(self.log_pcc(model_input, group))})

    def importance(self) -> pd.Series:
        """Share of gain per feature (LightGBM) or |coefficient| x standard deviation (OLS, national
        fit), for the feature-importance plot."""
        if self.kind == OLS:
            fit = self.groups["*"]
            return pd.Series(np.abs(fit.coef) * fit.scale, index=self.features)
        return pd.Series(self._lgb().feature_importance("gain"), index=self.features)
