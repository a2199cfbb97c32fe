"""`dtsen promote`: the gate between the challenger `dtsen train` registered and the champion that
`dtsen score` uses.

Both models are evaluated on the same held-out families: the test split of the training snapshot the
challenger was trained on (score_training_set at the version tagged on the challenger). The champion
may have seen some of those families in its own training, which can only flatter it: the gate errs on
the side of keeping the model in service.

The challenger becomes champion only if
* it passes the absolute floors (score.gate.floors), always - this is all the first model must do;
* it lowers the champion's exclusion error at the gate coverage by more than min_improvement;
* no fairness ratio at that coverage (per group_by dimension) rises past the champion's by more than
  fairness_tolerance.
The decision, its reasons and both models' figures are one MLflow run (tag stage=promote); a
promotion moves the alias `champion` and tags the versions.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import mlflow
import numpy as np
from pyspark.sql import SparkSession

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.score import evaluate as ev
from dtsen.score import registry
from dtsen.score.train import SNAPSHOT, SPLIT, predict

log = logging.getLogger("dtsen.score.promote")


@dataclass(frozen=True)
class Gate:
    coverage: float
    min_improvement: float
    fairness_tolerance: float
    max_exclusion_error: float
    min_spearman: float
    min_auc: float
    max_fairness_ratio: float
    group_by: tuple[str, ...]

    @classmethod
    def from_conf(cls, conf: Config) -> Gate:
        g = conf.section("score.gate")
        floors = g.get("floors") or {}
        need = ("max_exclusion_error", "min_spearman", "min_auc", "max_fairness_ratio")
        missing = [k for k in need if not isinstance(floors.get(k), (int, float))]
        if missing:
            raise ConfigError(f"score.gate.floors needs numbers for {missing}")
        cov = g.get("coverage")
        coverages = ev.EvalParams.from_conf(conf).coverages
        if cov not in coverages:
            raise ConfigError(f"score.gate.coverage ({cov!r}) must be one of score.evaluation.coverages {coverages}")
        for k in ("min_improvement", "fairness_tolerance"):
            if not isinstance(g.get(k), (int, float)) or g[k] < 0:
                raise ConfigError(f"score.gate.{k} must be a number >= 0, got {g.get(k)!r}")
        return cls(float(cov), float(g["min_improvement"]), float(g["fairness_tolerance"]),
                   *(float(floors[k]) for k in need), tuple(conf.get("score.evaluation.group_by")))

    def exclusion(self, metrics: dict) -> float | None:
        return metrics.get(f"exclusion_error_{ev.key(self.coverage)}")

    def fairness(self, metrics: dict) -> dict[str, float | None]:
        return {dim: metrics.get(f"fairness_ratio_{dim}_{ev.key(self.coverage)}") for dim in self.group_by}


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]        # why not (all failed checks), or why yes


def floors_failed(metrics: dict, gate: Gate) -> list[str]:
    """The absolute floors a model misses (metrics: flat overall + fairness figures)."""
    out = []
    exc = gate.exclusion(metrics)
    if exc is None or exc > gate.max_exclusion_error:
        out.append(f"exclusion error at {ev.key(gate.coverage)}% is {_f(exc)}, above the floor "
                   f"{gate.max_exclusion_error}")
    if metrics.get("spearman") is None or metrics["spearman"] < gate.min_spearman:
        out.append(f"Spearman {_f(metrics.get('spearman'))} is below the floor {gate.min_spearman}")
    if metrics.get("auc_below_poverty_line") is None or metrics["auc_below_poverty_line"] < gate.min_auc:
        out.append(f"AUC {_f(metrics.get('auc_below_poverty_line'))} is below the floor {gate.min_auc}")
    for dim, ratio in gate.fairness(metrics).items():
        if ratio is not None and ratio > gate.max_fairness_ratio:
            out.append(f"fairness ratio by {dim} {_f(ratio)} is above the floor {gate.max_fairness_ratio}")
    return out


def decide(challenger: dict, champion: dict | None, gate: Gate) -> Decision:
    """The gate on two models' held-out figures (champion None: the first model, floors only)."""
    failed = floors_failed(challenger, gate)
    if champion is not None:
        new, old = gate.exclusion(challenger), gate.exclusion(champion)
        if new is None or old is None or not new < old - gate.min_improvement:
            failed.append(f"exclusion error at {ev.key(gate.coverage)}% {_f(new)} does not improve on the champion's "
                          f"{_f(old)} by more than {gate.min_improvement}")
        old_fair = gate.fairness(champion)
        for dim, ratio in gate.fairness(challenger).items():
            before = old_fair[dim]
            if ratio is not None and before is not None and ratio > before + gate.fairness_tolerance:
                failed.append(f"fairness ratio by {dim} widens from {_f(before)} to {_f(ratio)} "
                              f"(tolerance {gate.fairness_tolerance})")
    if failed:
        return Decision(False, tuple(failed))
    if champion is None:
        return Decision(True, ("first model: passes every floor",))
    return Decision(True, (f"exclusion error at {ev.key(gate.coverage)}% {_f(gate.exclusion(champion))} -> "
                           f"{_f(gate.exclusion(challenger))}, fairness within tolerance",))


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _figures(result: dict) -> dict:
    return {k: v for k, v in {**result["overall"], **result["fairness"]}.items()
            if v is None or isinstance(v, (int, float))}


def promote(spark: SparkSession, conf: Config) -> dict:
    started = time.time()
    gate = Gate.from_conf(conf)
    params = ev.EvalParams.from_conf(conf)
    client, exp = registry.client(conf)
    name = registry.model_name(conf)
    chall_v = registry.by_alias(client, name, registry.CHALLENGER)
    if chall_v is None:
        raise ConfigError(f"registered model '{name}' has no challenger: run `dtsen train` first")
    champ_v = registry.by_alias(client, name, registry.CHAMPION)
    chall_version, champ_version = str(chall_v.version), (str(champ_v.version) if champ_v else None)
    summary = {"registered_model": name, "challenger": chall_version, "champion_before": champ_version}
    if champ_version == chall_version:
        summary.update(promoted=False, champion=champ_version, reasons=["the challenger is already the champion"],
                       wall_seconds=round(time.time() - started, 1))
        return summary

    snapshot_version = chall_v.tags.get("snapshot_version")
    if snapshot_version is None:
        raise ConfigError(f"version {chall_version} of '{name}' has no snapshot_version tag: it was not made by "
                          f"`dtsen train`; retrain")
    data = Catalog(conf).read(spark, SNAPSHOT, version=int(snapshot_version)).toPandas()
    test = data[data[SPLIT] == "test"].sort_values(["cycle", "family_id"]).reset_index(drop=True)
    if len(test) < 3:
        raise ConfigError(f"the training snapshot holds {len(test)} test families: too few to judge a model")
    evaluated = {}
    for role, v in (("challenger", chall_v), ("champion", champ_v)):
        if v is not None:
            evaluated[role] = ev.evaluate(test, predict(registry.load(name, v), test), params)
    figures = {role: _figures(r) for role, r in evaluated.items()}
    decision = decide(figures["challenger"], figures.get("champion"), gate)

    with mlflow.start_run(experiment_id=exp, run_name=f"promote-v{chall_version}") as run:
        mlflow.set_tags({"stage": "promote", "decision": "promoted" if decision.promote else "rejected",
                         "challenger_version": chall_version, "champion_version": champ_version or "none"})
        mlflow.log_params({"gate_coverage": gate.coverage, "min_improvement": gate.min_improvement,
                           "fairness_tolerance": gate.fairness_tolerance, "test_families": len(test),
                           "snapshot_version": snapshot_version,
                           **{f"floor_{k}": getattr(gate, k) for k in
                              ("max_exclusion_error", "min_spearman", "min_auc", "max_fairness_ratio")}})
        mlflow.log_metrics({f"{role}_{k}": float(v) for role, f in figures.items() for k, v in f.items()
                            if v is not None and not np.isnan(v)})
        mlflow.log_metric("promoted", 1.0 if decision.promote else 0.0)
        mlflow.log_dict({"promote": decision.promote, "reasons": list(decision.reasons), "figures": figures},
                        "decision.json")
    if decision.promote:
        client.set_registered_model_alias(name, registry.CHAMPION, chall_version)
        client.set_model_version_tag(name, chall_version, "promoted_by_run", run.info.run_id)
        if champ_version is not None:
            client.set_model_version_tag(name, champ_version, "replaced_by", chall_version)
    log.info("promote %s v%s: %s (%s)", name, chall_version, "promoted" if decision.promote else "rejected",
             "; ".join(decision.reasons))
    summary.update(promoted=decision.promote, reasons=list(decision.reasons),
                   champion=chall_version if decision.promote else champ_version,
                   figures={role: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in f.items()}
                            for role, f in figures.items()},
                   decision_run_id=run.info.run_id, wall_seconds=round(time.time() - started, 1))
    return summary
