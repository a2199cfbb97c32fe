"""Stable identifiers: resident_id and family_id, derived from keys, never from row order.

* family_id = 'F' + 16 hex of SHA-256('family|' + kk_token): a family keeps its id while its KK
  number lives; a new KK (marriage, split) is a new family.
* resident_id: a cluster of civil-registry records (one person, possibly under several NIKs) keeps the
  id its members carried in the previous cycle. A new cluster takes 'R' + 16 hex of
  SHA-256('resident|' + anchor), where the anchor is the smallest anchor key of its records (the NIK
  token; for a NIK shared by different people, NIK token + name key token).
* When a cluster holds records that carried different ids before (a duplicate found), the smallest
  old id survives and the others are recorded as merged into it; when an old id's records now fall in
  several clusters (a false merge undone), the cluster holding most of them keeps it (ties: smallest
  anchor) and the others get new ids, recorded as splits. Every change lands in the id-history table.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def family_id(kk_token: Column) -> Column:
    return F.when(kk_token.isNotNull(), F.concat(F.lit("F"), F.substring(F.sha2(
        F.concat(F.lit("family|"), kk_token), 256), 1, 16)))


def fresh_resident_id(anchor: Column) -> Column:
    return F.concat(F.lit("R"), F.substring(F.sha2(F.concat(F.lit("resident|"), anchor), 256), 1, 16))


def assign(members: DataFrame, previous: DataFrame | None, cycle: str) -> tuple[DataFrame, DataFrame]:
    """members: (record_key, anchor, cluster) for this cycle's civil-registry records; previous: the
    last cycle's (anchor, resident_id) or None. Returns ((record_key, anchor, cluster, resident_id),
    id history rows (cycle, old_id, new_id, reason))."""
    m = members
    if previous is not None:
        m = m.join(previous.select("anchor", F.col("resident_id").alias("old_id")), "anchor", "left")
    else:
        m = m.withColumn("old_id", F.lit(None).cast("string"))
    fresh = m.groupBy("cluster").agg(F.min("anchor").alias("cluster_anchor"))
    # who keeps an old id: per old id, the cluster with most of its records, then the smallest anchor
    votes = (m.where(F.col("old_id").isNotNull()).groupBy("old_id", "cluster").agg(F.count("*").alias("n"))
             .join(fresh, "cluster"))
    w = Window.partitionBy("old_id").orderBy(F.desc("n"), F.asc("cluster_anchor"))
    keeps = votes.withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1).select("old_id", "cluster")
    # per cluster, the smallest old id it keeps survives; with none it gets a fresh one
    survivor = keeps.groupBy("cluster").agg(F.min("old_id").alias("kept_id"))
    ids = (fresh.join(survivor, "cluster", "left")
           .withColumn("resident_id", F.coalesce(F.col("kept_id"), fresh_resident_id(F.col("cluster_anchor"))))
           .select("cluster", "resident_id"))
    out = m.join(ids, "cluster")
    changed = (out.where(F.col("old_id").isNotNull() & (F.col("old_id") != F.col("resident_id")))
               .select("old_id", "resident_id", "cluster").distinct())
    kept_elsewhere = keeps.select("old_id", F.col("cluster").alias("keeper"))
    history = (changed.join(kept_elsewhere, "old_id", "left")
               .withColumn("reason", F.when(F.col("keeper").isNull() | (F.col("keeper") == F.col("cluster")),
                                            F.lit("merge")).otherwise(F.lit("split")))
               .select(F.lit(cycle).alias("cycle"), "old_id", F.col("resident_id").alias("new_id"), "reason")
               .distinct())
    return out.select("record_key", "anchor", "cluster", "resident_id"), history
