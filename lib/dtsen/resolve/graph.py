"""Connected components of a match graph in Spark (min-label propagation over the edges only).

Duplicates are rare, so the edge set is small next to the records: nodes without an edge are their
own component and never enter the loop.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def connected_components(edges: DataFrame, max_iterations: int = 50) -> DataFrame:
    """edges (a, b) of string node ids -> (node, component), component = the smallest node id of the
    node's component; only nodes that appear in an edge are returned."""
    both = (edges.select(F.col("a").alias("src"), F.col("b").alias("dst"))
            .union(edges.select(F.col("b").alias("src"), F.col("a").alias("dst")))
            .where(F.col("src") != F.col("dst")).distinct().persist())
    # local checkpoints cut the plan each round: a plan growing by one join per round overflows
    labels = both.groupBy("src").agg(F.least(F.min("dst"), F.first("src")).alias("label")) \
        .withColumnRenamed("src", "node").localCheckpoint()
    try:
        for _ in range(max_iterations):
            nxt = (both.join(labels.withColumnRenamed("node", "dst").withColumnRenamed("label", "nl"), "dst")
                   .groupBy("src").agg(F.min("nl").alias("nl")).withColumnRenamed("src", "node")
                   .join(labels, "node").select("node", F.least("label", "nl").alias("label")).localCheckpoint())
            changed = nxt.join(labels.withColumnRenamed("label", "old"), "node") \
                .where(F.col("label") != F.col("old")).limit(1).count()
            labels = nxt
            if not changed:
                return labels.withColumnRenamed("label", "component")
        raise RuntimeError(f"connected components did not converge in {max_iterations} iterations")
    finally:
        both.unpersist()
