"""Stable ids and connected components on hand-built records."""
from __future__ import annotations

from pyspark.sql import functions as F

from dtsen.resolve.graph import connected_components
from dtsen.resolve.ids import assign, family_id, fresh_resident_id


def _components(spark, edges):
    df = spark.createDataFrame(edges, "a string, b string")
    return {r["node"]: r["component"] for r in connected_components(df).collect()}


def test_connected_components_take_the_smallest_node(spark):
    got = _components(spark, [("c", "b"), ("b", "a"), ("e", "d"), ("x", "y"), ("y", "z"), ("z", "w")])
    assert got == {"a": "a", "b": "a", "c": "a", "d": "d", "e": "d", "w": "w", "x": "w", "y": "w", "z": "w"}


def test_a_long_chain_converges(spark):
    chain = [(f"n{i:03d}", f"n{i + 1:03d}") for i in range(40)]
    assert set(_components(spark, chain).values()) == {"n000"}


def _assign(spark, members, previous=None, cycle="2026H2"):
    m = spark.createDataFrame(members, "record_key string, anchor string, cluster string")
    p = spark.createDataFrame(previous, "anchor string, resident_id string") if previous else None
    out, history = assign(m, p, cycle)
    return ({r["record_key"]: r["resident_id"] for r in out.collect()},
            sorted((r["old_id"], r["new_id"], r["reason"]) for r in history.collect()))


def _fresh(spark, anchor):
    return spark.range(1).select(fresh_resident_id(F.lit(anchor))).first()[0]


def test_new_clusters_get_ids_from_their_smallest_anchor_not_row_order(spark):
    rows = [("r1", "nikB", "c1"), ("r2", "nikA", "c1"), ("r3", "nikC", "r3")]
    ids, history = _assign(spark, rows)
    again, _ = _assign(spark, list(reversed(rows)))
    assert ids == again and history == []
    assert ids["r1"] == ids["r2"] == _fresh(spark, "nikA") != ids["r3"]
    assert ids["r3"] == _fresh(spark, "nikC") and ids["r3"].startswith("R") and len(ids["r3"]) == 17


def test_ids_persist_and_a_found_duplicate_merges_into_the_smallest_old_id(spark):
    previous = [("nikA", "R-old-2"), ("nikB", "R-old-1"), ("nikC", "R-old-3")]
    ids, history = _assign(spark, [("r1", "nikA", "c1"), ("r2", "nikB", "c1"), ("r3", "nikC", "r3"),
                                   ("r4", "nikD", "r4")], previous)
    assert ids == {"r1": "R-old-1", "r2": "R-old-1", "r3": "R-old-3", "r4": _fresh(spark, "nikD")}
    assert history == [("R-old-2", "R-old-1", "merge")]


def test_a_false_merge_undone_is_a_split(spark):
    previous = [("nikA", "R-1"), ("nikB", "R-1"), ("nikC", "R-1")]
    ids, history = _assign(spark, [("r1", "nikA", "c1"), ("r2", "nikB", "c1"), ("r3", "nikC", "r3")], previous)
    assert ids["r1"] == ids["r2"] == "R-1"
    assert ids["r3"] == _fresh(spark, "nikC")
    assert history == [("R-1", ids["r3"], "split")]


def test_family_id_follows_the_kk_token_only(spark):
    df = spark.createDataFrame([("k1",), ("k1",), ("k2",), (None,)], "kk string")
    got = [r[0] for r in df.select(family_id(F.col("kk"))).collect()]
    assert got[0] == got[1] != got[2] and got[3] is None and got[0].startswith("F")
