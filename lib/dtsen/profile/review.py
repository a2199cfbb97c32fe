"""The review queue: flagged families ranked for field verification (ground check), one row each.

Field teams work per regency, so the rank is within the regency (a partitioned window scales to the
nation; one national ordering would funnel every flagged family through one task). Priority is the
sum of the fired rules' `priority` points; ties go to more flags, then an exclude outcome, then the
family id, so the order is the same on every rerun.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def flag_summary(flags: DataFrame) -> DataFrame:
    """Per flagged family: rule ids, outcome (exclude when any flag excludes), priority, evidence text."""
    text = F.concat_ws(" ", F.col("rule_id"), F.lit("["), F.col("outcome"), F.lit("]:"), F.col("evidence_source"),
                       F.col("evidence_measure"), F.col("evidence_value"),
                       F.when(F.col("evidence_threshold").isNotNull(),
                              F.concat(F.lit("vs "), F.col("evidence_threshold"))))
    return flags.groupBy("family_id").agg(
        F.sort_array(F.collect_list("rule_id")).alias("flags"),
        F.when(F.max((F.col("outcome") == "exclude").cast("int")) == 1, F.lit("exclude"))
        .otherwise(F.lit("review")).alias("flag_outcome"),
        F.sum("priority").cast("int").alias("priority"), F.count("*").cast("int").alias("flag_count"),
        F.concat_ws("; ", F.sort_array(F.collect_list(text))).alias("evidence"))


def review_queue(flags: DataFrame, profiles: DataFrame, *, cycle: str) -> DataFrame:
    s = flag_summary(flags)
    q = s.join(profiles.select("family_id", "province_code", "regency_code", "village_code", "members",
                               "head_resident_id", "data_complete", "missing_data"), "family_id")
    w = Window.partitionBy("regency_code").orderBy(
        F.desc("priority"), F.desc("flag_count"), F.when(F.col("flag_outcome") == "exclude", 0).otherwise(1),
        "family_id")
    return q.select(F.lit(cycle).alias("cycle"), "province_code", "regency_code",
                    F.row_number().over(w).cast("int").alias("rank_in_regency"), "family_id", "village_code",
                    "members", "head_resident_id", "priority", "flag_count", "flag_outcome", "flags", "evidence",
                    "data_complete", "missing_data")
