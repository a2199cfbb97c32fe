"""`dtsen evaluate-linkage`: linkage quality against the generator's ground truth, tracked in MLflow.

Civil-registry dedup is scored on record pairs (a pair is predicted when both records got the same
resident_id, true when both belong to the same synthetic person) and on clusters (a person is
resolved exactly when its records form one resident and nothing else). Agency linkage is scored per
record: a link is correct when the resident it points at is the record's true person (a resident
stands for the person most of its registry records belong to); recall counts records whose person
is in the registry at all. Recall is also broken down by the injected error kind.
"""
from __future__ import annotations

import json
import os
import subprocess

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError


def _pairs(n) -> F.Column:
    return F.sum(n * (n - 1) / 2)


def _prf(tp: float, predicted: float, actual: float) -> dict:
    p = tp / predicted if predicted else 1.0
    r = tp / actual if actual else 1.0
    return {"precision": round(p, 6), "recall": round(r, 6), "f1": round(2 * p * r / (p + r), 6) if p + r else 0.0}


def record_truth(spark: SparkSession, conf: Config, cat: Catalog, cycle: str) -> DataFrame:
    """(source, record_key, person_key, registration, error_kinds) for every silver record resolved."""
    tables = ["person", *conf.section("resolve.agencies")]
    parts = [cat.read(spark, f"silver_{t}", cycle).select("source", "file_name", F.col("line_number")
                                                         .alias("row_number"), "record_key")
             for t in tables if cat.exists(spark, f"silver_{t}")]
    silver = parts[0]
    for p in parts[1:]:
        silver = silver.unionByName(p)
    truth = cat.read(spark, "truth_records", cycle).select("source", "file_name", "row_number", "person_key",
                                                          "registration", "error_kinds")
    return silver.join(truth, ["source", "file_name", "row_number"]).drop("file_name", "row_number")


def evaluate(spark: SparkSession, conf: Config, cycle: str, links: DataFrame | None = None) -> dict:
    """Scores the cycle's resolve_links, or `links` (source, record_key, resident_id, method) made by
    another linkage of the same silver records (the benchmark's baseline)."""
    cat = Catalog(conf)
    for t in ("truth_records",) + (("resolve_links",) if links is None else ()):
        if not cat.exists(spark, t):
            raise ConfigError(f"table {t} is missing: run `dtsen generate` and `dtsen resolve --cycle {cycle}` first")
    if links is None:
        links = cat.read(spark, "resolve_links", cycle)
    return {"cycle": cycle, **score(record_truth(spark, conf, cat, cycle), links)}


def score(truth: DataFrame, links: DataFrame) -> dict:
    """The figures from truth (source, record_key, person_key, registration 'primary' / 'duplicate',
    error_kinds) and links (source, record_key, resident_id, method); registry records are source
    'dukcapil'."""
    truth = truth.persist()
    links = links.select("source", "record_key", "resident_id", "method").persist()
    reg = truth.where(F.col("source") == "dukcapil").join(links.where(F.col("source") == "dukcapil")
                                                         .drop("source"), "record_key").persist()
    by_res = reg.groupBy("resident_id").count()
    by_person = reg.groupBy("person_key").count()
    by_both = reg.groupBy("resident_id", "person_key").count()
    predicted = by_res.agg(_pairs(F.col("count"))).first()[0] or 0
    actual = by_person.agg(_pairs(F.col("count"))).first()[0] or 0
    tp = by_both.agg(_pairs(F.col("count"))).first()[0] or 0
    dedup = _prf(tp, predicted, actual)
    # cluster level: persons whose records form exactly one resident that holds nothing else
    exact = (by_both.join(by_res.withColumnRenamed("count", "res_n"), "resident_id")
             .join(by_person.withColumnRenamed("count", "person_n"), "person_key")
             .where((F.col("count") == F.col("res_n")) & (F.col("count") == F.col("person_n"))).count())
    persons = by_person.count()
    dedup.update({"true_pairs": int(actual), "predicted_pairs": int(predicted), "true_positive_pairs": int(tp),
                  "persons": persons, "residents": by_res.count(),
                  "cluster_exact_share": round(exact / persons, 6) if persons else 1.0})
    # duplicate registrations: found when they share the resident of the person's primary record
    primary = reg.where(F.col("registration") == "primary").select("person_key", F.col("resident_id").alias("pr"))
    dup = reg.where(F.col("registration") == "duplicate").join(primary, "person_key", "left") \
        .withColumn("found", F.col("pr") == F.col("resident_id"))
    dedup_kinds = _recall_by_kind(dup, "found")

    # agency linkage: the person a resident stands for is the most common person among its records
    w = Window.partitionBy("resident_id").orderBy(F.desc("count"), "person_key")
    stands_for = by_both.withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1) \
        .select("resident_id", F.col("person_key").alias("linked_person"))
    registered = reg.select("person_key").distinct().withColumn("linkable", F.lit(True))
    ag = (truth.where(F.col("source") != "dukcapil")
          .join(links.where(F.col("source") != "dukcapil").drop("source"), "record_key", "left")
          .join(stands_for, "resident_id", "left").join(registered, "person_key", "left")
          .withColumn("linkable", F.coalesce("linkable", F.lit(False)))
          .withColumn("linked", F.col("resident_id").isNotNull())
          .withColumn("correct", F.coalesce(F.col("linked_person") == F.col("person_key"), F.lit(False)))).persist()
    per_source = {}
    rows = ag.groupBy("source").agg(F.count("*").alias("records"),
                                    *[F.sum(F.col(c).cast("long")).alias(c) for c in ("linkable", "linked", "correct")]
                                    ).collect()
    totals = {"records": 0, "linkable": 0, "linked": 0, "correct": 0}
    for r in sorted(rows, key=lambda r: r["source"]):
        per_source[r["source"]] = {**_prf(r["correct"], r["linked"], r["linkable"]), "records": r["records"],
                                   "linkable": r["linkable"], "linked": r["linked"], "correct": r["correct"]}
        for k in totals:
            totals[k] += r[k]
    overall = {**_prf(totals["correct"], totals["linked"], totals["linkable"]), **totals}
    link_kinds = _recall_by_kind(ag.where("linkable"), "correct")
    methods = {f"{r['source']}/{r['method']}": r["count"] for r in links.groupBy("source", "method").count().collect()}
    truth.unpersist()
    links.unpersist()
    reg.unpersist()
    ag.unpersist()
    return {"registry_dedup": dedup, "registry_dedup_recall_by_kind": dedup_kinds,
            "agency_linkage": overall, "agency_linkage_by_source": per_source,
            "agency_recall_by_kind": link_kinds, "links_by_method": methods}


def _recall_by_kind(df: DataFrame, hit: str) -> dict:
    got = (df.select(F.explode(F.array_union(F.coalesce("error_kinds", F.array().cast("array<string>")),
                                             F.array(F.lit("all")))).alias("kind"), F.col(hit).cast("long").alias("h"))
           .groupBy("kind").agg(F.count("*").alias("n"), F.sum("h").alias("hits")).collect())
    return {r["kind"]: {"records": r["n"], "recall": round(r["hits"] / r["n"], 6)}
            for r in sorted(got, key=lambda r: r["kind"])}


def _code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(__file__), check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log_to_mlflow(conf: Config, figures: dict, cycle: str) -> str:
    """One MLflow run per evaluation: parameters of the linkage configuration, the figures as metrics,
    the figures and the trained Fellegi-Sunter models as artifacts. Returns the run id."""
    import mlflow

    from dtsen.tracking import experiment

    exp = experiment(conf, "linkage")
    cat = Catalog(conf)
    metrics = {f"dedup_{k}": v for k, v in figures["registry_dedup"].items()}
    metrics.update({f"link_{k}": v for k, v in figures["agency_linkage"].items()})
    for src, m in figures["agency_linkage_by_source"].items():
        metrics.update({f"link_{src}_{k}": m[k] for k in ("precision", "recall", "f1")})
    for kind, m in figures["registry_dedup_recall_by_kind"].items():
        metrics[f"dedup_recall_{kind}"] = m["recall"]
    for kind, m in figures["agency_recall_by_kind"].items():
        metrics[f"link_recall_{kind}"] = m["recall"]
    params = {"cycle": cycle, "seed": conf.get("resolve.seed"),
              "min_name_similarity": conf.get("resolve.exact.min_name_similarity"),
              **{f"threshold_{k}": v for k, v in conf.section("resolve.thresholds").items()},
              "blocking_rules": json.dumps(conf.get("resolve.probabilistic.blocking_rules")),
              "max_block_size": conf.get("resolve.probabilistic.max_block_size"),
              "em_blocking_rules": json.dumps(conf.get("resolve.probabilistic.em_blocking_rules"))}
    with mlflow.start_run(experiment_id=exp, run_name=f"linkage-{cycle}") as run:
        mlflow.set_tags({"cycle": cycle, "code_version": _code_version(), "engine": "splink"})
        mlflow.log_params(params)
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, int | float)})
        mlflow.log_dict(figures, "linkage_evaluation.json")
        for name in ("dedupe", "link"):
            path = os.path.join(cat.root, "reports", cycle, f"linkage_model_{name}.json")
            if os.path.exists(path):
                mlflow.log_artifact(path, "models")
        return run.info.run_id
