"""dtsen.columns: arrays of labels and non-NULL values, in order, inside Spark's generated code."""
from __future__ import annotations

from pyspark.sql import functions as F

from dtsen.columns import labels_where, present


def test_labels_where_keeps_true_conditions_in_order(spark):
    df = spark.createDataFrame([(1, True), (5, None), (9, False)], "x int, b boolean")
    got = df.select("x", labels_where([(F.col("x") > 3, "big"), (F.col("b"), "flag"), (F.col("x") < 3, "small"),
                                       (F.col("x") > 0, "positive")]).alias("a")).orderBy("x").collect()
    # NULL conditions (b for x=5) count as not met, as in F.when
    assert [r.a for r in got] == [["flag", "small", "positive"], ["big", "positive"], ["big", "positive"]]
    assert df.select(labels_where([]).alias("a")).first().a == []


def test_present_drops_nulls_and_keeps_order(spark):
    df = spark.createDataFrame([("a", None, "c"), (None, None, None)], "p string, q string, r string")
    got = df.select(present([F.col("r"), F.col("q"), F.col("p")]).alias("a")).collect()
    assert [r.a for r in got] == [["c", "a"], []]
    # a literal NULL beside strings (the allocation's "no text when it passes") is widened, not an error
    assert df.select(present([F.lit(None), F.col("p")]).alias("a")).first().a == ["a"]


def test_no_higher_order_function_breaks_whole_stage_codegen(spark):
    """Production profiles generate code for whole stages (the test profile interprets: tiny tables)."""
    generated = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}
    before = {k: spark.conf.get(k) for k in generated}
    for k, v in generated.items():
        spark.conf.set(k, v)
    try:
        df = spark.range(3).select(labels_where([(F.col("id") > 0, "pos")]).alias("a"),
                                   present([F.when(F.col("id") > 1, F.lit("two"))]).alias("b"))
        plan = df._jdf.queryExecution().executedPlan().toString()
    finally:
        for k, v in before.items():
            spark.conf.set(k, v)
    assert "*(1) Project" in plan and "lambdafunction" not in plan, plan
