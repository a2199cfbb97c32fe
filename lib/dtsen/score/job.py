"""`dtsen score --cycle C`: the champion scores every family of the cycle, in Spark.

1. The champion: the registered model's version with alias `champion` (MLflow), loaded once on the
   driver and broadcast, so each Python worker unpickles it once, whatever the number of batches.
2. Features: features.feature_frame over the cycle's family_profiles (the pipeline training used).
3. Per Arrow batch (mapInPandas): predicted per-capita consumption, the contributions of each
   feature and the reasons they make (explain.reasons).
4. National person-weighted ranking and deciles (deciles.person_deciles), categories by conf.
5. family_scores for the cycle is replaced (one row per profiled family), each row naming the model
   name, version and run that scored it.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.score import deciles, explain, registry
from dtsen.score import features as fx
from dtsen.score.model import WelfareModel

log = logging.getLogger("dtsen.score")

TABLE = "family_scores"
PREDICTED_PCC, CATEGORY = "predicted_pcc", "category"
MODEL_NAME, MODEL_VERSION, MODEL_RUN_ID = "model_name", "model_version", "model_run_id"
REASONS_ID, REASONS_EN = "reasons_id", "reasons_en"
COLUMNS = ("cycle", "family_id", "members", "province_code", "regency_code", "village_code", "urban",
           PREDICTED_PCC, deciles.WELFARE_RANK, deciles.DESIL, CATEGORY, MODEL_NAME, MODEL_VERSION, MODEL_RUN_ID,
           REASONS_ID, REASONS_EN)
_SCORED = ("cycle string, family_id string, members int, province_code string, regency_code string, "
           "village_code string, urban boolean, predicted_pcc double, reasons_id array<string>, "
           "reasons_en array<string>")


def categories(conf: Config, n: int) -> dict[int, str]:
    mapping = conf.get("score.scoring.categories")
    if not isinstance(mapping, dict) or {int(k) for k in mapping} != set(range(1, n + 1)):
        raise ConfigError(f"score.scoring.categories must name a category for every desil 1..{n}")
    return {int(k): str(v) for k, v in mapping.items()}


def score_batch(model: WelfareModel, batch: pd.DataFrame, params: explain.ReasonParams) -> pd.DataFrame:
    """One batch of feature rows -> predicted pcc and reasons (the keys passed through)."""
    base, parts = model.contributions(batch, batch[fx.REGION_GROUP])
    ids, ens = explain.reasons(parts, batch, model.features, params)
    return pd.DataFrame({
        "cycle": batch[fx.CYCLE], "family_id": batch[fx.FAMILY_ID], "members": batch[fx.MEMBERS].astype("int32"),
        "province_code": batch[fx.PROVINCE], "regency_code": batch[fx.REGENCY], "village_code": batch[fx.VILLAGE],
        "urban": batch[fx.URBAN], PREDICTED_PCC: np.exp(base + parts.sum(axis=1)), REASONS_ID: ids, REASONS_EN: ens})


def scored_families(features: DataFrame, model: WelfareModel, params: explain.ReasonParams) -> DataFrame:
    """Feature frame -> (keys, predicted_pcc, reasons) with the model broadcast once."""
    bc = features.sparkSession.sparkContext.broadcast(model)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        m = bc.value
        for b in batches:
            yield score_batch(m, b, params)

    return features.mapInPandas(run, _SCORED)


def family_scores(features: DataFrame, model: WelfareModel, *, name: str, version: str, run_id: str,
                  params: explain.ReasonParams, cats: dict[int, str], n: int, partitions: int) -> DataFrame:
    """The family_scores rows of one cycle (COLUMNS)."""
    ranked = deciles.person_deciles(scored_families(features, model, params), score=PREDICTED_PCC,
                                    weight="members", tiebreak="family_id", n=n, partitions=partitions)
    category = F.lit(None).cast("string")
    for d in sorted(cats, reverse=True):
        category = F.when(F.col(deciles.DESIL) == d, F.lit(cats[d])).otherwise(category)
    return ranked.select(*[c for c in COLUMNS if c not in (CATEGORY, MODEL_NAME, MODEL_VERSION, MODEL_RUN_ID)],
                         category.alias(CATEGORY), F.lit(name).alias(MODEL_NAME), F.lit(version).alias(MODEL_VERSION),
                         F.lit(run_id).alias(MODEL_RUN_ID)).select(*COLUMNS)


def champion(conf: Config) -> tuple[str, str, str, WelfareModel]:
    """(registered name, version, run id, model) of the champion; ConfigError when there is none."""
    client, _ = registry.client(conf)
    name = registry.model_name(conf)
    v = registry.by_alias(client, name, registry.CHAMPION)
    if v is None:
        raise ConfigError(f"registered model '{name}' has no champion: run `dtsen train` and `dtsen promote` "
                          f"(the first model becomes champion only if it passes score.gate.floors)")
    return name, str(v.version), str(v.run_id), registry.load(name, v)


def score(spark: SparkSession, conf: Config, *, cycle: str) -> dict:
    started = time.time()
    n = int(conf.get("score.scoring.deciles"))
    cats = categories(conf, n)
    params = explain.ReasonParams.from_conf(conf)
    cat = Catalog(conf)
    if not cat.exists(spark, "family_profiles") or cat.read(spark, "family_profiles", cycle).limit(1).count() == 0:
        raise ConfigError(f"no family profiles for {cycle}: run `dtsen profile --cycle {cycle}` first")
    name, version, run_id, model = champion(conf)
    feats = fx.feature_frame(cat.read(spark, "family_profiles", cycle), fx.urban_villages(spark),
                             fx.FeatureParams.from_conf(conf))
    out = family_scores(feats, model, name=name, version=version, run_id=run_id, params=params, cats=cats, n=n,
                        partitions=int(conf.get("score.scoring.range_partitions")))
    cat.write(out, TABLE, cycle=cycle)
    written = cat.read(spark, TABLE, cycle)
    by_desil = {int(r[deciles.DESIL]): (int(r["families"]), int(r["persons"])) for r in written.groupBy(deciles.DESIL)
                .agg(F.count("*").alias("families"), F.sum("members").alias("persons")).collect()}
    persons = sum(p for _, p in by_desil.values())
    by_cat = {r[CATEGORY]: int(r["count"]) for r in written.groupBy(CATEGORY).count().collect()}
    no_reason = written.where(F.size(REASONS_ID) == 0).count()
    summary = {
        "cycle": cycle, "families": sum(f for f, _ in by_desil.values()), "persons": persons,
        "model": {"name": name, "version": version, "run_id": run_id, "kind": model.kind},
        "desil_person_share": {d: round(by_desil[d][1] / persons, 4) for d in sorted(by_desil)},
        "desil_families": {d: by_desil[d][0] for d in sorted(by_desil)},
        "categories": {c: by_cat.get(c, 0) for c in dict.fromkeys(cats.values())},
        "families_without_reasons": no_reason, "wall_seconds": round(time.time() - started, 1)}
    log.info("scored %s with %s v%s: %s families, %s persons", cycle, name, version, summary["families"], persons)
    return summary
