"""The baseline the resolve benchmark is compared with: Splink configured as its own documentation
shows, on the same linkage records (same silver tables, same machine), without our exact NIK pass,
our name keys, our blocking caps or our one-to-one decision.

    .venv/bin/python bench/splink_baseline.py --cycle 2026H1 [--env local]     # DTSEN_LAKE as usual

What "as documented" means here (Splink's getting-started example, fields mapped to ours):
* the name split into first_name / surname (first word, the rest), each a `NameComparison`; birth date
  a `DateOfBirthComparison`; sex, NIK token and regency `ExactMatch`, the regency with term-frequency
  adjustment (the example's "city");
* blocking on (first_name, surname) and on birth date, plus the NIK token;
* prior from the deterministic rule (first_name, surname, birth date) at recall 0.7, u by random
  sampling (1e7 pairs), m by EM on the two blocking rules;
* registry duplicates: predicted pairs clustered at match probability 0.95; agency records: the same
  model in link-only mode, each record linked to its best registry record at 0.95 or above.

Prints one JSON document: the linkage's wall time and compared pairs, then the evaluation against the
ground truth (the same `evaluate` the pipeline uses).
"""
from __future__ import annotations

import argparse
import json
import logging
import time

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

THRESHOLD = 0.95


def _documented_model(spark, frames: list[DataFrame], link_type: str, seed: int):
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, SparkAPI, block_on

    settings = SettingsCreator(
        link_type=link_type, unique_id_column_name="record_key",
        comparisons=[cl.NameComparison("first_name"), cl.NameComparison("surname"),
                     cl.DateOfBirthComparison("birth_date", input_is_string=True), cl.ExactMatch("sex"),
                     cl.ExactMatch("nik_token"), cl.ExactMatch("regency").configure(term_frequency_adjustments=True)],
        blocking_rules_to_generate_predictions=[block_on("first_name", "surname"), block_on("birth_date"),
                                                block_on("nik_token")],
        retain_matching_columns=False, retain_intermediate_calculation_columns=False)
    api = SparkAPI(spark_session=spark)        # the documented default: intermediate tables as parquet
    tables = [api.register(f, table_name=f"baseline_{link_type}_{i}") for i, f in enumerate(frames)]
    linker = Linker(tables if len(tables) > 1 else tables[0], settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "surname", "birth_date")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    return linker


def _compared(linker) -> int:
    return linker.inference.compute_blocked_pairs_for_predict().as_spark_dataframe().count()


def baseline_links(spark, conf, cycle: str) -> tuple[DataFrame, dict]:
    """(links: source, record_key, resident_id, method; figures)."""
    from dtsen.catalog import Catalog
    from dtsen.privacy import load_keys, protect_session
    from dtsen.resolve import records

    keys = load_keys(conf)
    protect_session(spark, keys)
    cat = Catalog(conf)
    spark.sparkContext.setCheckpointDir(cat.staging_dir("splink_baseline", cycle))    # as the docs set it up
    seed = int(conf.get("resolve.seed"))

    def prepared(df: DataFrame) -> DataFrame:
        words = F.split(F.col("name"), " ")
        return df.select("record_key", "source", F.element_at(words, 1).alias("first_name"),
                         F.when(F.size(words) > 1, F.array_join(F.slice(words, 2, 100), " ")).alias("surname"),
                         "birth_date", "sex", "nik_token", "regency")

    started = time.time()
    persons = prepared(records.persons(spark, cat, keys, cycle)).localCheckpoint()
    agencies = prepared(records.agency_records(spark, conf, cat, keys, cycle)).localCheckpoint()
    dedupe = _documented_model(spark, [persons.drop("source")], "dedupe_only", seed)
    dedupe_pairs = _compared(dedupe)
    predictions = dedupe.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = dedupe.clustering.cluster_pairwise_predictions_at_threshold(predictions, THRESHOLD) \
        .as_spark_dataframe().select("record_key", F.col("cluster_id").alias("resident_id")).localCheckpoint()
    registry = clusters.select(F.lit("dukcapil").alias("source"), "record_key", "resident_id",
                               F.lit("splink").alias("method"))
    link = _documented_model(spark, [persons.drop("source"), agencies.drop("source")], "link_only", seed)
    link_pairs = _compared(link)
    pairs = link.inference.predict(threshold_match_probability=THRESHOLD).as_spark_dataframe()
    # which side is the registry: Splink names each pair's datasets
    reg_left = F.col("source_dataset_l") == F.lit("baseline_link_only_0")
    scored = pairs.select(F.when(reg_left, F.col("record_key_l")).otherwise(F.col("record_key_r")).alias("reg_key"),
                          F.when(reg_left, F.col("record_key_r")).otherwise(F.col("record_key_l")).alias("record_key"),
                          "match_probability")
    w = Window.partitionBy("record_key").orderBy(F.desc("match_probability"), "reg_key")
    best = scored.withColumn("_r", F.row_number().over(w)).where("_r = 1")
    agency = (best.join(clusters.withColumnRenamed("record_key", "reg_key"), "reg_key")
              .join(agencies.select("record_key", "source"), "record_key")
              .select("source", "record_key", "resident_id", F.lit("splink").alias("method")))
    links = registry.unionByName(agency).localCheckpoint()
    n = links.count()
    return links, {"wall_seconds": round(time.time() - started, 1), "links": n,
                   "compared_pairs": {"registry_dedup": dedupe_pairs, "agency_linkage": link_pairs,
                                      "total": dedupe_pairs + link_pairs}}


def main() -> int:
    from dtsen.config import load_config
    from dtsen.resolve.evaluate import evaluate
    from dtsen.spark import get_spark

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycle", default="2026H1")
    ap.add_argument("--env", default="local")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    conf = load_config(args.env)
    spark = get_spark(conf, "splink-baseline")
    links, figures = baseline_links(spark, conf, args.cycle)
    figures["evaluation"] = evaluate(spark, conf, args.cycle, links=links)
    print(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
