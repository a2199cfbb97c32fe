"""National person-weighted ranking and deciles (desil), computed without a single-task sort.

Families are ordered by predicted per-capita consumption (poorest first; ties by family_id), which
gives welfare_rank 1..N. Each family covers its members' stretch of the national line of persons;
desil d holds the families whose stretch's midpoint lies in [(d-1)/n, d/n) of all persons, so each
desil holds ~1/n of the persons (a family is never split).

The running sums go per range partition: the frame is range-partitioned on the order, each
partition's count and persons are summed, and the partition's offset (everything before it) is
added to its own running sums. The ranking is the same whatever the partition bounds.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

WELFARE_RANK, DESIL = "welfare_rank", "desil"


def person_deciles(df: DataFrame, *, score: str, weight: str, tiebreak: str, n: int = 10,
                   partitions: int = 8) -> DataFrame:
    """df + welfare_rank (long, 1 = poorest) + desil (int 1..n). score ascending = poorest first."""
    part = "_part"
    ranged = (df.repartitionByRange(partitions, F.col(score).asc_nulls_last(), F.col(tiebreak))
              .withColumn(part, F.spark_partition_id())
              .localCheckpoint(eager=True))
    totals = ranged.groupBy(part).agg(F.count("*").alias("_n"), F.sum(weight).alias("_w")).collect()
    offsets, n_before, w_before = [], 0, 0
    for r in sorted(totals, key=lambda r: r[part]):
        offsets.append((int(r[part]), n_before, int(w_before)))
        n_before += int(r["_n"])
        w_before += int(r["_w"] or 0)
    total = w_before
    spark = df.sparkSession
    off = spark.createDataFrame(offsets, f"{part} int, _n_off long, _w_off long")
    w = (Window.partitionBy(part).orderBy(F.col(score).asc_nulls_last(), F.col(tiebreak))
         .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    cum = F.sum(F.col(weight).cast("long")).over(w)
    ranked = (ranged.join(F.broadcast(off), part)
              .withColumn(WELFARE_RANK, (F.col("_n_off") + F.row_number().over(
                  Window.partitionBy(part).orderBy(F.col(score).asc_nulls_last(), F.col(tiebreak)))).cast("long"))
              .withColumn("_cum", F.col("_w_off") + cum))
    # n x midpoint / total in integers (2 x cum - weight over 2 x total): exact, no rounding at a cut-off
    scaled = ((F.col("_cum") * 2 - F.col(weight).cast("long")) * n).cast("double") / float(2 * max(total, 1))
    return (ranked.withColumn(DESIL, F.least(F.lit(n), F.floor(scaled).cast("int") + 1))
            .drop(part, "_n_off", "_w_off", "_cum"))
