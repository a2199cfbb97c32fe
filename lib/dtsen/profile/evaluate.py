"""Flag quality against the generator's ground truth (synthetic populations only; the job never
reads ground truth).

A pipeline family (family_id) stands for the synthetic family most of its civil-registry records
belong to. Figures:
* hidden-wealth recall: of the injected "answers the survey as poor, owns cars and pays tax"
  families, the share flagged (any rule; and with an exclude outcome);
* precision: of the flagged families, the share truly not poor (true per-capita consumption at or
  above the poverty line): flags exist to catch families who are not poor. Also for exclude alone;
* per rule: families flagged, share truly not poor, injected families caught.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError


def family_truth(spark: SparkSession, cat: Catalog, cycle: str) -> DataFrame:
    """(family_id, family_key, hidden_wealth, poor, pcc): each pipeline family's synthetic family."""
    truth = (cat.read(spark, "truth_records", cycle).where((F.col("source") == "dukcapil")
                                                            & (F.col("registration") == "primary"))
             .select("file_name", F.col("row_number").alias("line_number"), "family_key"))
    persons = cat.read(spark, "silver_person", cycle).select("file_name", "line_number", "record_key")
    links = cat.read(spark, "resolve_links", cycle).where(F.col("source") == "dukcapil").select(
        "record_key", "family_id")
    pairs = (truth.join(persons, ["file_name", "line_number"]).join(links, "record_key")
             .groupBy("family_id", "family_key").agg(F.count("*").alias("n")))
    w = Window.partitionBy("family_id").orderBy(F.desc("n"), "family_key")
    best = pairs.withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1).select("family_id", "family_key")
    fams = cat.read(spark, "truth_families", cycle).select("family_key", "hidden_wealth", "poor", "pcc")
    return best.join(fams, "family_key")


def _share(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def evaluate(spark: SparkSession, conf: Config, cycle: str) -> dict:
    cat = Catalog(conf)
    for t in ("truth_records", "truth_families", "family_profiles", "profile_flags"):
        if not cat.exists(spark, t):
            raise ConfigError(f"table {t} is missing: run `dtsen generate` and `dtsen profile --cycle {cycle}` first")
    ft = family_truth(spark, cat, cycle)
    prof = cat.read(spark, "family_profiles", cycle).select("family_id", "flags", "flag_outcome")
    j = prof.join(ft, "family_id").persist()
    flagged = F.size("flags") > 0
    excl = F.col("flag_outcome") == "exclude"
    r = j.agg(
        F.count("*").alias("families"),
        F.sum(F.col("hidden_wealth").cast("int")).alias("hidden"),
        F.sum((F.col("hidden_wealth") & flagged).cast("int")).alias("hidden_flagged"),
        F.sum((F.col("hidden_wealth") & excl).cast("int")).alias("hidden_excluded"),
        F.sum(flagged.cast("int")).alias("flagged"),
        F.sum((flagged & ~F.col("poor")).cast("int")).alias("flagged_nonpoor"),
        F.sum(F.coalesce(excl, F.lit(False)).cast("int")).alias("excluded"),
        F.sum((F.coalesce(excl, F.lit(False)) & ~F.col("poor")).cast("int")).alias("excluded_nonpoor"),
        F.sum(F.col("poor").cast("int")).alias("poor"),
        F.sum((F.col("poor") & flagged).cast("int")).alias("poor_flagged")).first()
    per_rule = {}
    flags = cat.read(spark, "profile_flags", cycle).select("family_id", "rule_id", "outcome")
    for row in (flags.join(ft, "family_id").groupBy("rule_id").agg(
            F.count("*").alias("n"), F.sum((~F.col("poor")).cast("int")).alias("nonpoor"),
            F.sum(F.col("hidden_wealth").cast("int")).alias("hidden")).orderBy("rule_id").collect()):
        per_rule[row["rule_id"]] = {"families": int(row["n"]), "precision_nonpoor": _share(row["nonpoor"], row["n"]),
                                    "hidden_wealth_caught": int(row["hidden"])}
    j.unpersist()
    return {
        "cycle": cycle, "families_matched": int(r["families"]),
        "hidden_wealth": {"families": int(r["hidden"]), "flagged": int(r["hidden_flagged"]),
                          "recall": _share(r["hidden_flagged"], r["hidden"]),
                          "recall_exclude": _share(r["hidden_excluded"], r["hidden"])},
        "flagged": {"families": int(r["flagged"]), "precision_nonpoor": _share(r["flagged_nonpoor"], r["flagged"])},
        "excluded": {"families": int(r["excluded"]),
                     "precision_nonpoor": _share(r["excluded_nonpoor"], r["excluded"])},
        "poor_flagged_share": _share(r["poor_flagged"], r["poor"]),
        "by_rule": per_rule}
