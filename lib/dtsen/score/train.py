"""`dtsen train`: the training set, the baseline and the challenger, tracked and registered in MLflow.

1. Training set: every consumption-survey label (silver_consumption) attached to its family - through
   resolve_links (the survey head's NIK token), else the family id hashed from the survey's KK token -
   and joined to that cycle's family profile; features from features.feature_frame. Tokens and ids
   only. Labels that reach no family, or a family without a profile, are counted, not hidden.
   The Delta versions of the tables read are pinned (read at that version) and recorded.
2. Split by family, stratified by province, from a seeded hash: train / validation / test.
3. Models: OLS per region group on the standard proxies (baseline) and LightGBM on every feature
   (challenger), both on log per-capita consumption, person-weighted.
4. Each model is one MLflow run: parameters, data versions, held-out metrics, plots, the model with
   signature and input example, registered as a version of the welfare model; the configured
   candidate gets the alias `challenger`. `dtsen promote` decides whether it becomes champion.
"""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.resolve.ids import family_id as family_id_of_kk
from dtsen.score import evaluate as ev
from dtsen.score import fairness, plots
from dtsen.score import features as fx
from dtsen.score.model import KINDS, LIGHTGBM, OLS, WelfareModel

log = logging.getLogger("dtsen.score.train")

INPUT_TABLES = ("silver_consumption", "resolve_links", "family_profiles")
LABEL_SOURCE = "susenas"
SNAPSHOT = "score_training_set"
LABEL, WEIGHT, SPLIT = "label_pcc", "weight", "split"


def table_versions(spark: SparkSession, cat: Catalog, names: tuple[str, ...]) -> dict[str, int]:
    """The current Delta version of each table (what this run reads, pinned)."""
    from delta.tables import DeltaTable

    out = {}
    for name in names:
        if not cat.exists(spark, name):
            raise ConfigError(f"table {name} is missing: ingest, resolve and profile a cycle first "
                              f"(`dtsen ingest`, `dtsen resolve`, `dtsen profile`)")
        out[name] = int(DeltaTable.forPath(spark, cat.path(name)).history(1).select("version").first()[0])
    return out


def labelled_families(labels: DataFrame, links: DataFrame, profiles: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(labelled profiles, label accounting). labels: silver_consumption rows; links: resolve_links;
    profiles: family_profiles. A family labelled twice in one cycle keeps its smallest record key."""
    sus = links.where(F.col("source") == LABEL_SOURCE).select("cycle", "record_key",
                                                            F.col("family_id").alias("_linked"))
    lab = (labels.join(sus, ["cycle", "record_key"], "left")
           .withColumn("family_id", F.coalesce("_linked", family_id_of_kk(F.col("kk_token"))))
           .withColumn("_via", F.when(F.col("_linked").isNotNull(), "link").when(F.col("family_id").isNotNull(), "kk")))
    prof_keys = profiles.select("cycle", "family_id", F.lit(True).alias("_profiled"))
    lab = lab.join(prof_keys, ["cycle", "family_id"], "left")
    ranked = lab.withColumn("_n", F.row_number().over(Window.partitionBy("cycle", "family_id").orderBy("record_key")))
    outcome = (F.when(F.col("family_id").isNull(), "no_family")
               .when(F.col("_profiled").isNull(), "no_profile")
               .when(F.col("consumption_per_capita").isNull() | (F.col("consumption_per_capita") <= 0), "no_label")
               .when(F.col("_n") > 1, "duplicate").otherwise("used"))
    ranked = ranked.withColumn("outcome", outcome)
    accounting = ranked.groupBy("cycle", "outcome", "_via").count()
    used = ranked.where(F.col("outcome") == "used").select(
        "cycle", "family_id", F.col("consumption_per_capita").cast("double").alias(LABEL),
        (F.col("members").cast("double") * F.coalesce(F.col("weight").cast("double"), F.lit(1.0))).alias(WEIGHT))
    return profiles.join(used, ["cycle", "family_id"]), accounting


def split_families(df: pd.DataFrame, shares: dict[str, float], seed: int) -> pd.Series:
    """train / validation / test per family, stratified by province: within each province families
    are ordered by a seeded hash of their id and cut by the shares (a family seen in two cycles gets
    one split, from its latest cycle's province)."""
    fam = (df.sort_values(["family_id", "cycle"]).groupby("family_id", sort=True)[fx.PROVINCE].last().reset_index())
    fam["_u"] = [int(hashlib.sha256(f"{seed}|{f}".encode()).hexdigest()[:12], 16) for f in fam["family_id"]]
    fam = fam.sort_values([fx.PROVINCE, "_u", "family_id"])
    pos = fam.groupby(fx.PROVINCE).cumcount().to_numpy()
    size = fam.groupby(fx.PROVINCE)["family_id"].transform("size").to_numpy()
    q = (pos + 0.5) / size
    t, v = shares["train"], shares["train"] + shares["validation"]
    fam[SPLIT] = np.where(q < t, "train", np.where(q < v, "validation", "test"))
    return df["family_id"].map(fam.set_index("family_id")[SPLIT])


def _shares(conf: Config) -> dict[str, float]:
    s = conf.section("score.training.split")
    if set(s) != {"train", "validation", "test"} or abs(sum(float(x) for x in s.values()) - 1) > 1e-9:
        raise ConfigError(f"score.training.split must give train, validation and test shares summing to 1; got {s}")
    return {k: float(x) for k, x in s.items()}


def training_set(spark: SparkSession, conf: Config, seed: int) -> tuple[pd.DataFrame, dict, dict, StructType]:
    """(labelled feature rows with their split, pinned table versions, label accounting, the rows'
    Spark schema, for the snapshot)."""
    cat = Catalog(conf)
    versions = table_versions(spark, cat, INPUT_TABLES)
    read = {t: cat.read(spark, t, version=v) for t, v in versions.items()}
    cycles = conf.get("score.training.cycles")
    if cycles != "all":
        if not isinstance(cycles, list) or not cycles:
            raise ConfigError("score.training.cycles must be 'all' or a list of cycle ids")
        read = {t: df.where(F.col("cycle").isin(*cycles)) for t, df in read.items()}
    labelled, accounting = labelled_families(read["silver_consumption"], read["resolve_links"],
                                             read["family_profiles"])
    feats = fx.feature_frame(labelled, fx.urban_villages(spark), fx.FeatureParams.from_conf(conf))
    feats = feats.join(labelled.select("cycle", "family_id", LABEL, WEIGHT), ["cycle", "family_id"])
    pdf = feats.toPandas().sort_values(["cycle", "family_id"]).reset_index(drop=True)
    acc: dict = {}
    for r in accounting.collect():
        acc[r["outcome"]] = acc.get(r["outcome"], 0) + int(r["count"])
        if r["outcome"] == "used":
            acc[f"used_via_{r['_via']}"] = int(r["count"])
    minimum = int(conf.get("score.training.min_labels"))
    if len(pdf) < minimum:
        raise ConfigError(f"only {len(pdf)} labelled families with a profile (score.training.min_labels is "
                          f"{minimum}): ingest the consumption survey and profile its cycle first ({acc})")
    pdf[SPLIT] = split_families(pdf, _shares(conf), seed)
    return pdf, versions, acc, StructType([*feats.schema.fields, StructField(SPLIT, StringType())])


def _fit_base(kind: str, conf: Config, tr: pd.DataFrame, va: pd.DataFrame | None, seed: int,
              rounds: int | None = None) -> WelfareModel:
    """One model of `kind` on `tr`; LightGBM stops early on `va`, or runs exactly `rounds` rounds."""
    feats = fx.model_features(conf, kind)
    y, w = np.log(tr[LABEL].to_numpy()), tr[WEIGHT].to_numpy()
    if kind == OLS:
        return WelfareModel.fit_ols(tr[feats], y, w, tr[fx.REGION_GROUP],
                                    int(conf.get("score.models.ols.min_group_families")))
    m = conf.section("score.models.lightgbm")
    valid = None if va is None else (va[feats], np.log(va[LABEL].to_numpy()), va[WEIGHT].to_numpy())
    return WelfareModel.fit_lightgbm(
        tr[feats], y, w, valid, params=dict(m["params"]), categorical=list(m.get("categorical", [])),
        num_boost_round=rounds or int(m["num_boost_round"]), early_stopping_rounds=int(m["early_stopping_rounds"]),
        seed=seed)


def held_out_scores(kind: str, conf: Config, data: pd.DataFrame, model: WelfareModel, seed: int,
                    folds: int) -> tuple[pd.DataFrame, np.ndarray]:
    """(families, predicted log consumption none of whose models saw them): the validation split
    scored by `model`, and with folds >= 2 the train split too, each family by a model fitted on the
    other folds (the same settings; LightGBM with the rounds `model` kept). `model` carries no offsets:
    the fold models have none, and the scores of both must be alike."""
    if model.offsets:
        raise ValueError("held_out_scores needs the model without its offsets")
    tr, va = data[data[SPLIT] == "train"], data[data[SPLIT] == "validation"]
    parts, scores = [va], [model.log_pcc(va, va[fx.REGION_GROUP])]
    if folds >= 2:
        fold = np.array([int(hashlib.sha256(f"{seed}|fold|{f}".encode()).hexdigest()[:8], 16) % folds
                         for f in tr["family_id"]])
        for k in range(folds):
            inner = _fit_base(kind, conf, tr[fold != k], None, seed, rounds=model.rounds())
            out = tr[fold == k]
            parts.append(out)
            scores.append(inner.log_pcc(out, out[fx.REGION_GROUP]))
    return pd.concat(parts), np.concatenate(scores)


def fit(kind: str, conf: Config, data: pd.DataFrame, seed: int) -> WelfareModel:
    """The model of `kind` fitted on the train split; with score.models.<kind>.equalize, carrying
    equal-opportunity offsets fitted on held-out predictions (fairness.py, held_out_scores)."""
    equalize = fairness.EqualizeParams.from_conf(conf, kind)
    va = data[data[SPLIT] == "validation"]
    model = _fit_base(kind, conf, data[data[SPLIT] == "train"], va, seed)
    if equalize.by is None or len(va) == 0:
        return model
    held, score = held_out_scores(kind, conf, data, model, seed, equalize.folds)
    offsets = fairness.fit_offsets(score, held[LABEL].to_numpy(), held[WEIGHT].to_numpy(),
                                   held[equalize.by].to_numpy(), held["family_id"].to_numpy(), equalize)
    return model.with_offsets(equalize.by, offsets) if offsets else model


def predict(model: WelfareModel, df: pd.DataFrame) -> np.ndarray:
    return np.exp(model.log_pcc(df, df[fx.REGION_GROUP]))


def _log_plots(model: WelfareModel, test: pd.DataFrame, pred: np.ndarray, result: dict, gate_c: float,
               title: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        true, w = test[LABEL].to_numpy(), test[WEIGHT].to_numpy()
        plots.calibration(true, pred, w, d, title)
        plots.decile_confusion(ev.decile_confusion(true, pred, w, test["family_id"].to_numpy()), d, title)
        plots.feature_importance(model.importance(), d, title)
        plots.error_by_province(result, gate_c, d, title)
        mlflow.log_artifacts(d, "plots")


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("mlflow", "lightgbm", "numpy", "pandas", "scikit-learn")]


def log_model_run(conf: Config, exp: str, kind: str, model: WelfareModel, data: pd.DataFrame, *, seed: int,
                  train_id: str, versions: dict, accounting: dict) -> dict:
    """One MLflow run for one fitted model: returns run id, registered version and test metrics."""
    from mlflow.models import infer_signature

    params = ev.EvalParams.from_conf(conf)
    gate_c = float(conf.get("score.gate.coverage"))
    test = data[data[SPLIT] == "test"]
    pred = predict(model, test)
    result = ev.evaluate(test, pred, params)
    metrics = ev.flat_metrics(result, "test_")
    valid = data[data[SPLIT] == "validation"]
    if len(valid) >= 3:
        metrics.update({k: v for k, v in ev.flat_metrics(ev.evaluate(valid, predict(model, valid), params),
                                                         "validation_").items()
                        if k.startswith("validation_exclusion_error") or k == "validation_spearman"})
    counts = data[SPLIT].value_counts()
    name = str(conf.get("score.registered_model"))
    example = data[model.features + [fx.REGION_GROUP] + ([model.offset_by] if model.offsets else [])].head(5)
    with mlflow.start_run(experiment_id=exp, run_name=f"{kind}-{train_id}") as run:
        mlflow.set_tags({"model_kind": kind, "train_id": train_id, "stage": "train"})
        mlflow.log_params({
            "model_kind": kind, "seed": seed, "features": len(model.features),
            "cycles": ",".join(sorted(data["cycle"].unique())),
            **{f"families_{s}": int(counts.get(s, 0)) for s in ("train", "validation", "test")},
            **{f"data_version.{t}": v for t, v in versions.items()},
            **{f"labels_{k}": v for k, v in accounting.items()},
            **({f"lgbm_{k}": v for k, v in conf.section("score.models.lightgbm.params").items()}
               if kind == LIGHTGBM else {"min_group_families": conf.get("score.models.ols.min_group_families"),
                                          "region_fits": ",".join(sorted(model.groups))}),
            "equalize_by": model.offset_by if model.offsets else "none",
            **{f"offset.{g}": v for g, v in model.offsets.items()}})
        mlflow.log_metrics(metrics)
        mlflow.log_dict({"features": model.features}, "features.json")
        mlflow.log_dict(result, "evaluation.json")
        _log_plots(model, test, pred, result, gate_c, kind)
        info = mlflow.pyfunc.log_model(
            name="model", python_model=model, signature=infer_signature(example, model.predict(None, example)),
            input_example=example, registered_model_name=name, pip_requirements=_pip_requirements())
        version = str(info.registered_model_version)
    return {"run_id": run.info.run_id, "version": version, "metrics": metrics}


def train(spark: SparkSession, conf: Config, *, seed: int | None = None) -> dict:
    from dtsen.score import registry

    started = time.time()
    seed = int(conf.get("score.seed") if seed is None else seed)
    candidate = str(conf.get("score.candidate"))
    if candidate not in KINDS:
        raise ConfigError(f"score.candidate must be one of {KINDS}, got {candidate!r}")
    ev.EvalParams.from_conf(conf)
    data, versions, accounting, schema = training_set(spark, conf, seed)
    fingerprint = json.dumps({"seed": seed, "versions": versions, "score": conf.section("score")}, sort_keys=True,
                             default=str)
    train_id = hashlib.sha256(fingerprint.encode()).hexdigest()[:12]

    cat = Catalog(conf)
    rows = data[schema.fieldNames()].astype(object).where(data[schema.fieldNames()].notna(), None)
    snapshot = spark.createDataFrame(rows.itertuples(index=False, name=None), schema).withColumn(
        "train_id", F.lit(train_id))
    cat.write(snapshot, SNAPSHOT, mode="overwrite")
    versions[SNAPSHOT] = table_versions(spark, cat, (SNAPSHOT,))[SNAPSHOT]

    client, exp = registry.client(conf)
    name = registry.model_name(conf)
    runs = {}
    for kind in (OLS, LIGHTGBM):
        t = time.time()
        model = fit(kind, conf, data, seed)
        runs[kind] = log_model_run(conf, exp, kind, model, data, seed=seed, train_id=train_id, versions=versions,
                                   accounting=accounting)
        for k, v in {"model_kind": kind, "train_id": train_id, "snapshot_version": versions[SNAPSHOT]}.items():
            client.set_model_version_tag(name, runs[kind]["version"], k, str(v))
        runs[kind]["seconds"] = round(time.time() - t, 1)
        log.info("trained %s: version %s, test exclusion error at %s%% %s", kind, runs[kind]["version"],
                 ev.key(float(conf.get("score.gate.coverage"))),
                 runs[kind]["metrics"].get(f"test_exclusion_error_{ev.key(float(conf.get('score.gate.coverage')))}"))
    client.set_registered_model_alias(name, registry.CHALLENGER, runs[candidate]["version"])
    return {"train_id": train_id, "seed": seed, "registered_model": name, "challenger": runs[candidate]["version"],
            "candidate": candidate, "labelled_families": len(data),
            "split": {k: int(v) for k, v in data[SPLIT].value_counts().sort_index().items()},
            "labels": accounting, "data_versions": versions,
            "runs": {k: {"run_id": r["run_id"], "version": r["version"], "seconds": r["seconds"],
                         "test": {m[5:]: round(x, 4) for m, x in r["metrics"].items() if m.startswith("test_")}}
                     for k, r in runs.items()},
            "wall_seconds": round(time.time() - started, 1), "tracking_uri": mlflow.get_tracking_uri()}
