"""`dtsen profile`: each family's welfare profile from all agencies, inconsistency flags, review queue.

1. Extract: the cycle's golden residents and each agency's silver records, attached to a resident and
   family through `resolve_links` (records the resolve stage could not link are counted, not used).
   Only tokens, codes and ids are read; never the restricted PII table.
2. Profiles (build.family_profiles): one row per family_id, with completeness markers.
3. Flags (rules.evaluate): the versioned rules of conf/base/profile.yml over the measures.
4. Review queue (review.review_queue): flagged families ranked per regency for field verification.
5. History (history.profile_changes): what changed since the latest earlier cycle with profiles.

Every output is written per cycle (a rerun replaces exactly that cycle).
"""
from __future__ import annotations

import logging
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.cycles import parse_cycle
from dtsen.profile import build, history, review, rules

log = logging.getLogger("dtsen.profile")

SILVER = {"employment": "silver_employment", "tax": "silver_tax", "vehicle": "silver_vehicle",
          "electricity": "silver_electricity", "health": "silver_health_coverage", "education": "silver_education",
          "survey": "silver_survey"}


def _conform(df: DataFrame, schema) -> DataFrame:
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def extract(spark: SparkSession, cat: Catalog, params: build.Params, cycle: str) -> tuple[build.Inputs, dict]:
    """The cycle's linked inputs, and per source the records that could not be attached to a family."""
    if not cat.exists(spark, "residents") or cat.read(spark, "residents", cycle).limit(1).count() == 0:
        raise ConfigError(f"no resolved residents for {cycle}: run `dtsen resolve --cycle {cycle}` first")
    links = cat.read(spark, "resolve_links", cycle).select("source", "record_key", "resident_id", "family_id")
    frames = {"residents": _conform(cat.read(spark, "residents", cycle), build.input_schema("residents"))}
    unlinked: dict[str, DataFrame] = {}
    for name, table in SILVER.items():
        schema = build.input_schema(name, params.survey_columns if name == "survey" else ())
        src = build.INPUT_SOURCES[name]
        if not cat.exists(spark, table):
            # an agency that has never delivered a usable file: its parts are missing, not an error
            log.warning("%s has no table yet (no accepted %s file): its profile parts are marked missing",
                        table, src)
            frames[name] = spark.createDataFrame([], schema)
            unlinked[src] = spark.createDataFrame([], "record_key string")
            continue
        silver = cat.read(spark, table, cycle)
        absent = [f.name for f in schema.fields if f.name not in silver.columns and f.name not in
                  ("family_id", "resident_id")]
        if absent:
            hint = " (profile.survey_columns in conf/base/profile.yml)" if name == "survey" else ""
            raise ConfigError(f"{table} has no column(s) {absent}{hint}")
        linked = silver.join(links.where(F.col("source") == src).drop("source"), "record_key", "left")
        frames[name] = _conform(linked.where(F.col("family_id").isNotNull()), schema)
        unlinked[src] = linked.where(F.col("family_id").isNull())
    return build.Inputs(**frames), unlinked


def _previous_cycle(spark: SparkSession, cat: Catalog, cycle: str) -> str | None:
    if not cat.exists(spark, "family_profiles"):
        return None
    known = [r["cycle"] for r in cat.read(spark, "family_profiles").select("cycle").distinct().collect()]
    earlier = sorted((c for c in known if parse_cycle(c).reference_date < parse_cycle(cycle).reference_date),
                     key=lambda c: parse_cycle(c).reference_date)
    return earlier[-1] if earlier else None


def profile(spark: SparkSession, conf: Config, *, cycle: str) -> dict:
    started = time.time()
    cyc = parse_cycle(cycle)
    ruleset = rules.load_rules(conf)            # configuration first: a bad rule stops before any work
    params = build.Params.from_conf(conf)
    ruleset.ump_for(cycle)
    cat = Catalog(conf)
    timings: dict[str, float] = {}

    t = time.time()
    inputs, unlinked = extract(spark, cat, params, cycle)
    profiles = build.family_profiles(inputs, params, cycle=cycle, cycle_year=cyc.year).persist()
    n_families = profiles.count()
    timings["profiles"] = round(time.time() - t, 1)

    t = time.time()
    measures = build.measures(inputs, profiles, cycle_year=cyc.year).persist()
    flags = rules.evaluate(spark, measures, ruleset, cycle=cycle).select(*rules.FLAG_COLUMNS)
    cat.write(flags, "profile_flags", cycle=cycle)
    flags = cat.read(spark, "profile_flags", cycle)
    measures.unpersist()
    timings["flags"] = round(time.time() - t, 1)

    t = time.time()
    summary_of = review.flag_summary(flags).select("family_id", "flags", "flag_outcome",
                                                   F.col("priority").alias("flag_priority"))
    out = (profiles.join(summary_of, "family_id", "left")
           .withColumn("flags", F.coalesce("flags", F.array().cast("array<string>")))
           .withColumn("rule_version", F.lit(ruleset.version)))
    cat.write(out, "family_profiles", cycle=cycle)
    profiles.unpersist()
    current = cat.read(spark, "family_profiles", cycle)
    cat.write(review.review_queue(flags, current, cycle=cycle), "review_queue", cycle=cycle)
    timings["write"] = round(time.time() - t, 1)

    t = time.time()
    prev = _previous_cycle(spark, cat, cycle)
    if prev is not None:
        changes = history.profile_changes(current, cat.read(spark, "family_profiles", prev), cycle=cycle,
                                          previous_cycle=prev, min_relative_change=params.min_relative_change)
        cat.write(changes, "profile_changes", cycle=cycle)
    timings["changes"] = round(time.time() - t, 1)

    s = current.agg(
        F.sum((~F.col("data_complete")).cast("int")).alias("incomplete"),
        F.sum((F.size("flags") > 0).cast("int")).alias("flagged"),
        F.sum((F.col("flag_outcome") == "exclude").cast("int")).alias("exclude"),
        F.sum((F.col("flag_outcome") == "review").cast("int")).alias("review"),
        *[F.sum(F.col(f"missing_{p}").cast("int")).alias(f"missing_{p}") for p in build.PARTS]).first()
    by_rule = {r["rule_id"]: int(r["count"]) for r in flags.groupBy("rule_id").count().collect()}
    unlinked_n = {src: df.count() for src, df in unlinked.items()}
    change_n: dict[str, int] = {}
    if prev is not None:
        change_n = {r["kind"]: int(r["count"]) for r in cat.read(spark, "profile_changes", cycle)
                    .select(F.explode("changes").alias("kind")).groupBy("kind").count().collect()}
    summary = {
        "cycle": cycle, "rule_version": ruleset.version, "families": n_families,
        "data_incomplete": int(s["incomplete"] or 0),
        "missing": {p: int(s[f"missing_{p}"] or 0) for p in build.PARTS},
        "flagged_families": int(s["flagged"] or 0),
        "outcomes": {"exclude": int(s["exclude"] or 0), "review": int(s["review"] or 0)},
        "flags_by_rule": {r.rule_id: by_rule.get(r.rule_id, 0) for r in ruleset.rules},
        "review_queue": int(s["flagged"] or 0),
        "unlinked_records": unlinked_n,
        "previous_cycle": prev, "changes": change_n,
        "seconds": timings, "wall_seconds": round(time.time() - started, 1)}
    log.info("profiled %s: %s families, %s flagged (%s exclude, %s review), %s incomplete", cycle, n_families,
             summary["flagged_families"], summary["outcomes"]["exclude"], summary["outcomes"]["review"],
             summary["data_incomplete"])
    return summary
