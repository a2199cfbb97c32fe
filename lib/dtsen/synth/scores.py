"""Stand-in welfare scores for a lake the scoring stage has not run on (tests and benchmarks of the
allocation stage only; the pipeline's own scores come from `dtsen score`).

A deterministic predicted per-capita consumption from the profile (more formal workers, cars,
motorcycles, electricity and schooling -> richer; more members -> poorer; a small hash jitter breaks
ties), ranked with the production person-weighted desil definition (dtsen.score.deciles).
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dtsen.config import Config

MODEL_NAME, MODEL_VERSION = "stand-in", "1"


def stand_in_scores(profiles: DataFrame, conf: Config, cycle: str) -> DataFrame:
    """family_scores rows (the scoring stage's columns) for the cycle's family_profiles."""
    from dtsen.score.deciles import person_deciles

    c = F.col
    pcc = (F.lit(450_000.0) + c("formal_workers") * 900_000.0 / c("members") + c("cars") * 700_000.0
           + c("motorcycles") * 120_000.0 + F.coalesce(c("pln_capacity_va"), F.lit(0)) * 90.0
           + F.coalesce(c("head_education"), F.lit(0)) * 60_000.0 - c("members") * 35_000.0
           + (F.abs(F.xxhash64("family_id")) % 40_000).cast("double"))
    base = profiles.select("family_id", "members", "province_code", "regency_code", "village_code",
                           F.greatest(pcc, F.lit(120_000.0)).alias("predicted_pcc"))
    ranked = person_deciles(base, score="predicted_pcc", weight="members", tiebreak="family_id",
                            partitions=int(conf.get("score.scoring.range_partitions", 8)))
    cats = conf.section("score.scoring.categories")
    category = F.create_map(*[x for d, name in sorted(cats.items()) for x in (F.lit(int(d)), F.lit(name))])
    return ranked.select(
        F.lit(cycle).alias("cycle"), "family_id", "members", "province_code", "regency_code", "village_code",
        F.lit(None).cast("boolean").alias("urban"), "predicted_pcc", "welfare_rank", "desil",
        category[F.col("desil")].alias("category"), F.lit(MODEL_NAME).alias("model_name"),
        F.lit(MODEL_VERSION).alias("model_version"), F.lit("none").alias("model_run_id"),
        F.array().cast("array<string>").alias("reasons_id"), F.array().cast("array<string>").alias("reasons_en"))
