"""`dtsen resolve`: one person, one resident_id; every agency record attached to the right resident.

1. Exact pass in the civil registry: records sharing a NIK token whose names, birth dates and sex
   agree are one person; a NIK shared by records that disagree is a conflict, kept apart and reported.
2. Probabilistic dedup of the civil registry (`Matcher`, Fellegi-Sunter with EM weights): pairs at or
   above `dedup_link` are merged by connected components; pairs in [dedup_review, dedup_link) go to
   clerical review.
3. Stable ids (`ids.assign`): clusters keep the ids their records carried last cycle; merges and
   splits are recorded.
4. Agency records: an exact NIK-token match with agreeing name and birth date links directly; a
   record that stands for a family's head (survey, consumption) and did not link by NIK links to the
   one head of its KK when the names agree (or it has none); the rest are scored against all
   residents' registry records and linked one-to-one (each record to at most one resident: the best,
   when clear of the runner-up); uncertain ones go to review.
5. Outputs: link table, golden residents (survivorship below), duplicate report, id history, review.

Survivorship for the golden resident (one row per resident_id):
* the resident's *primary* registry record is the one whose NIK the agencies use most (the NIK in
  real use), then the smallest record key (deterministic);
* identity and family attributes (NIK and KK tokens, sex, birth year, relationship, marital status,
  education, occupation, village) come from the primary record: the civil registry is the legal
  source of identity and family composition; agencies only add the sources they hold.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.cycles import parse_cycle
from dtsen.privacy import load_keys, protect_session
from dtsen.resolve import ids, records
from dtsen.resolve.graph import connected_components
from dtsen.resolve.matcher import Matcher, timed

log = logging.getLogger("dtsen.resolve")


def _similar(a: Column, b: Column, at_least: float) -> Column:
    """1 - Levenshtein / longer length >= at_least."""
    longest = F.greatest(F.length(a), F.length(b))
    return (1 - F.levenshtein(a, b) / longest) >= F.lit(at_least)


def _agree(l_: str, r_: str, min_similarity: float) -> Column:
    """The exact pass's test that two records sharing a NIK token are the same person: names agree by
    key, phonetic key or closely as strings (or one side has none), birth dates agree or are day/month
    swapped (or one side has none), sex agrees (or one side has none)."""
    def c(side: str, name: str) -> Column:
        return F.col(f"{side}.{name}")
    name_ok = (c(l_, "name").isNull() | c(r_, "name").isNull()
               | (c(l_, "name_key_token") == c(r_, "name_key_token"))
               | (c(l_, "name_phonetic_token") == c(r_, "name_phonetic_token"))
               | _similar(c(l_, "name"), c(r_, "name"), min_similarity))
    bl, br = c(l_, "birth_date"), c(r_, "birth_date")
    birth_ok = bl.isNull() | br.isNull() | (records.any_order(bl) == records.any_order(br))   # equal or swapped
    sex_ok = c(l_, "sex").isNull() | c(r_, "sex").isNull() | (c(l_, "sex") == c(r_, "sex"))
    return F.coalesce(name_ok & birth_ok & sex_ok, F.lit(False))


def _previous_ids(spark: SparkSession, cat: Catalog, cycle: str) -> DataFrame | None:
    """The latest earlier cycle's (anchor, resident_id), or None for the first cycle."""
    if not cat.exists(spark, "resident_ids"):
        return None
    known = sorted(r["cycle"] for r in cat.read(spark, "resident_ids").select("cycle").distinct().collect())
    earlier = [c for c in known if parse_cycle(c).reference_date < parse_cycle(cycle).reference_date]
    if not earlier:
        return None
    return cat.read(spark, "resident_ids", earlier[-1]).select("anchor", "resident_id").distinct()


def dedupe_registry(spark: SparkSession, conf: Config, persons: DataFrame, cycle: str) -> dict:
    """Steps 1-3. Returns frames: members (record_key, anchor, resident_id, method, match_probability),
    history, conflicts, review, and the trained model."""
    thr = conf.section("resolve.thresholds")
    min_sim = float(conf.get("resolve.exact.min_name_similarity"))
    cols = ["record_key", "nik_token", "name", "name_key_token", "name_phonetic_token", "birth_date", "sex"]
    p = persons.select(*cols)
    same = (p.alias("l").join(p.alias("r"), (F.col("l.nik_token") == F.col("r.nik_token"))
                              & (F.col("l.record_key") < F.col("r.record_key")))
            .select(F.col("l.record_key").alias("a"), F.col("r.record_key").alias("b"),
                    F.col("l.nik_token").alias("nik_token"), _agree("l", "r", min_sim).alias("agree"))).persist()
    conflicts = same.where(~F.col("agree")).select(F.lit(cycle).alias("cycle"), "nik_token",
                                                   F.col("a").alias("record_key_l"), F.col("b").alias("record_key_r"))
    conflicted = conflicts.select(F.col("record_key_l").alias("record_key")).union(
        conflicts.select(F.col("record_key_r").alias("record_key"))).distinct().withColumn("_conflict", F.lit(True))
    anchors = (persons.select("record_key", "nik_token", "name_key_token").join(conflicted, "record_key", "left")
               .select("record_key", F.when(F.col("_conflict").isNull(), F.col("nik_token"))
                       .otherwise(F.concat_ws("|", "nik_token", "name_key_token")).alias("anchor")))

    matcher = Matcher(spark, conf, dedupe=True)
    model = matcher.fit(persons)
    with timed(matcher.seconds, "predict"):
        pairs = matcher.predict(float(thr["dedup_review"])).persist()
        pairs.count()
    matcher.close()
    # a pair that shares a NIK but disagrees is a conflict: never merged on probability alone
    pairs = pairs.join(conflicts.select(F.col("record_key_l"), F.col("record_key_r"), F.lit(True).alias("_c")),
                       ["record_key_l", "record_key_r"], "left").where(F.col("_c").isNull()).drop("_c")
    review = pairs.where(F.col("match_probability") < float(thr["dedup_link"])).select(
        F.lit(cycle).alias("cycle"), F.lit("registry_duplicate").alias("kind"), F.lit("dukcapil").alias("source"),
        "record_key_l", "record_key_r", "match_probability")
    strong = pairs.where(F.col("match_probability") >= float(thr["dedup_link"]))
    edges = same.where("agree").select("a", "b").union(strong.select(F.col("record_key_l").alias("a"),
                                                                      F.col("record_key_r").alias("b")))
    comps = connected_components(edges)
    best = (strong.select(F.col("record_key_l").alias("record_key"), "match_probability")
            .union(strong.select(F.col("record_key_r").alias("record_key"), "match_probability"))
            .groupBy("record_key").agg(F.max("match_probability").alias("match_probability")))
    exact_nodes = same.where("agree").select(F.col("a").alias("record_key")).union(
        same.where("agree").select(F.col("b").alias("record_key"))).distinct().withColumn("_exact", F.lit(True))
    members = (anchors.join(comps.withColumnRenamed("node", "record_key"), "record_key", "left")
               .withColumn("cluster", F.coalesce("component", "record_key")).drop("component"))
    assigned, history = ids.assign(members, _previous_ids(spark, Catalog(conf), cycle), cycle)
    assigned = (assigned.join(best, "record_key", "left").join(exact_nodes, "record_key", "left")
                .withColumn("method", F.when(F.col("match_probability").isNotNull(), F.lit("probabilistic"))
                            .when(F.col("_exact").isNotNull(), F.lit("exact")).otherwise(F.lit("registry")))
                .withColumn("match_probability", F.coalesce("match_probability", F.lit(1.0))).drop("_exact"))
    return {"members": assigned, "history": history, "conflicts": conflicts, "review": review, "model": model,
            "compared_pairs": matcher.compared_pairs, "seconds": matcher.seconds, "_persisted": [same, pairs]}


def family_head_links(records: DataFrame, heads: DataFrame, min_similarity: float) -> DataFrame:
    """Links (record_key, source, resident_id, method, match_probability) of the `family_head`
    records to the head of the family their KK names: only where the KK has one head resident and the
    names, birth dates and sex agree as in the exact pass (a side without them agrees). heads:
    kk_token, resident_id and the comparison columns of the registry's head records."""
    cols = ["name", "name_key_token", "name_phonetic_token", "birth_date", "sex"]
    single = heads.groupBy("kk_token").agg(F.countDistinct("resident_id").alias("_n")).where(F.col("_n") == 1)
    return (records.where(F.col("family_head") & F.col("kk_token").isNotNull())
            .select("record_key", "source", "kk_token", *cols).alias("l")
            .join(heads.join(single.select("kk_token"), "kk_token").select("kk_token", "resident_id", *cols)
                  .alias("r"), F.col("l.kk_token") == F.col("r.kk_token"))
            .where(_agree("l", "r", min_similarity))
            .select(F.col("l.record_key").alias("record_key"), F.col("l.source").alias("source"), "resident_id",
                    F.lit("family_head").alias("method"), F.lit(1.0).alias("match_probability"))
            .dropDuplicates(["record_key"]))


def link_agencies(spark: SparkSession, conf: Config, persons: DataFrame, agencies: DataFrame,
                  resident_of: DataFrame, heads: DataFrame, cycle: str) -> dict:
    """Step 4. resident_of: (record_key, resident_id) of registry records; heads: the registry's
    family heads for `family_head_links`."""
    thr = conf.section("resolve.thresholds")
    min_sim = float(conf.get("resolve.exact.min_name_similarity"))
    matcher = Matcher(spark, conf, dedupe=False)
    cols = ["record_key", "nik_token", "name", "name_key_token", "name_phonetic_token", "birth_date", "sex"]
    reg = persons.select(*cols).join(resident_of, "record_key")
    cand = (agencies.select(*cols, "source").alias("l")
            .join(reg.alias("r"), F.col("l.nik_token") == F.col("r.nik_token"))
            .where(_agree("l", "r", min_sim))
            .select(F.col("l.record_key").alias("record_key"), F.col("l.source").alias("source"),
                    F.col("r.resident_id").alias("resident_id")).distinct())
    # exact only when the NIK points at one resident
    one = cand.groupBy("record_key").agg(F.countDistinct("resident_id").alias("n")).where(F.col("n") == 1)
    exact = cand.join(one.select("record_key"), "record_key").withColumn("method", F.lit("exact")) \
        .withColumn("match_probability", F.lit(1.0)).persist()
    rest = agencies.join(exact.select("record_key"), "record_key", "left_anti")
    by_kk = family_head_links(rest, heads, min_sim).persist()
    with timed(matcher.seconds, "exact_and_family_head"):
        rest = rest.join(by_kk.select("record_key"), "record_key", "left_anti").localCheckpoint()
    model = matcher.fit(persons, rest)
    pairs = matcher.predict(float(thr["agency_review"]))
    scored = (pairs.join(resident_of.withColumnRenamed("record_key", "record_key_l"), "record_key_l")
              .groupBy(F.col("record_key_r").alias("record_key"), "resident_id")
              .agg(F.max("match_probability").alias("match_probability")))
    w = Window.partitionBy("record_key").orderBy(F.desc("match_probability"), F.asc("resident_id"))
    ranked = (scored.withColumn("_rank", F.row_number().over(w))
              .withColumn("_next", F.lead("match_probability").over(w)).where(F.col("_rank") == 1)
              .join(rest.select("record_key", "source"), "record_key").persist())
    clear = F.col("_next").isNull() | (F.col("match_probability") - F.col("_next") >= float(thr["agency_margin"]))
    linked = ranked.where((F.col("match_probability") >= float(thr["agency_link"])) & clear)
    review = ranked.join(linked.select("record_key"), "record_key", "left_anti").select(
        F.lit(cycle).alias("cycle"), F.lit("agency_link").alias("kind"), "source",
        F.col("resident_id").alias("record_key_l"), F.col("record_key").alias("record_key_r"), "match_probability")
    links = exact.unionByName(by_kk).unionByName(linked.select(
        "record_key", "source", "resident_id", F.lit("probabilistic").alias("method"), "match_probability"))
    return {"links": links, "review": review, "model": model, "compared_pairs": matcher.compared_pairs,
            "seconds": matcher.seconds, "_persisted": [exact, by_kk, ranked], "_matcher": matcher}


def golden(registry: DataFrame, persons_silver: DataFrame, links: DataFrame, cycle: str) -> DataFrame:
    """One row per resident_id by the survivorship rules in the module docstring. links: agency links
    with the agency record's nik_token."""
    nik_use = links.where(F.col("nik_token").isNotNull()).groupBy("nik_token").agg(
        F.count("*").alias("agency_records"))
    base = registry.join(persons_silver, "record_key").join(nik_use, "nik_token", "left")
    w = Window.partitionBy("resident_id").orderBy(F.desc(F.coalesce("agency_records", F.lit(0))), "record_key")
    primary = base.withColumn("_r", F.row_number().over(w)).where(F.col("_r") == 1)
    counts = registry.groupBy("resident_id").agg(F.count("*").alias("registry_records"))
    sources = links.groupBy("resident_id").agg(F.sort_array(F.collect_set("source")).alias("sources"))
    return (primary.join(counts, "resident_id").join(sources, "resident_id", "left")
            .select(F.lit(cycle).alias("cycle"), "resident_id", ids.family_id(F.col("kk_token")).alias("family_id"),
                    F.col("record_key").alias("primary_record_key"), "nik_token", "kk_token", "name_key_token",
                    "sex", "birth_year", "age", "relationship", "marital_status", "education", "occupation",
                    "village_code", "registry_records",
                    F.coalesce("sources", F.array().cast("array<string>")).alias("sources")))


def resolve(spark: SparkSession, conf: Config, *, cycle: str) -> dict:
    started = time.time()
    parse_cycle(cycle)
    cat = Catalog(conf)
    if not cat.exists(spark, "silver_person") or cat.read(spark, "silver_person", cycle).limit(1).count() == 0:
        raise ConfigError(f"no civil-registry records for {cycle}: run `dtsen ingest --cycle {cycle}` first")
    keys = load_keys(conf)
    protect_session(spark, keys)
    scratch = cat.staging_dir("resolve", cycle)
    shutil.rmtree(scratch, ignore_errors=True)
    spark.sparkContext.setCheckpointDir(scratch)       # the matcher's intermediate tables
    timings: dict[str, float] = {}
    t = time.time()
    # checkpointed: the name standardization makes long plans that every later step would re-analyse
    persons = records.persons(spark, cat, keys, cycle).localCheckpoint()
    agencies = records.agency_records(spark, conf, cat, keys, cycle).localCheckpoint()
    n_persons, n_agency = persons.count(), agencies.count()
    timings["records"] = round(time.time() - t, 1)

    t = time.time()
    reg = dedupe_registry(spark, conf, persons, cycle)
    members = reg["members"].persist()
    with timed(reg["seconds"], "clusters_and_ids"):
        members.count()
    timings["dedupe"] = round(time.time() - t, 1)

    t = time.time()
    resident_of = members.select("record_key", "resident_id")
    silver = cat.read(spark, "silver_person", cycle)
    heads = (persons.join(silver.where(F.col("relationship") == "head").select("record_key"), "record_key")
             .join(resident_of, "record_key"))
    ag = link_agencies(spark, conf, persons, agencies, resident_of, heads, cycle)
    agency_links = ag["links"].persist()
    with timed(ag["seconds"], "predict_and_assign"):
        agency_links.count()
    timings["link"] = round(time.time() - t, 1)

    t = time.time()
    fam = silver.select("record_key", ids.family_id(F.col("kk_token")).alias("family_id"))
    registry_links = members.join(fam, "record_key").select(
        F.lit(cycle).alias("cycle"), F.lit("dukcapil").alias("source"), "record_key", "resident_id", "family_id",
        "method", "match_probability")
    family_of = registry_links.groupBy("resident_id").agg(F.min("family_id").alias("family_id"))
    links = registry_links.unionByName(
        agency_links.join(family_of, "resident_id", "left").select(
            F.lit(cycle).alias("cycle"), "source", "record_key", "resident_id", "family_id", "method",
            "match_probability"))
    cat.write(links, "resolve_links", cycle=cycle)
    links = cat.read(spark, "resolve_links", cycle)
    nik_of = agencies.select("record_key", "nik_token")
    agency_with_nik = links.where(F.col("source") != "dukcapil").join(nik_of, "record_key", "left")
    residents = golden(members.select("record_key", "resident_id"), silver.drop("cycle", "source"),
                       agency_with_nik, cycle)
    cat.write(residents, "residents", cycle=cycle)
    cat.write(members.select(F.lit(cycle).alias("cycle"), "record_key", "anchor", "resident_id"),
              "resident_ids", cycle=cycle)
    cat.write(reg["history"], "resident_id_history", cycle=cycle)
    cat.write(reg["conflicts"], "nik_conflicts", cycle=cycle)
    cat.write(reg["review"].unionByName(ag["review"]), "linkage_review", cycle=cycle)
    multi = members.groupBy("resident_id").agg(F.count("*").alias("n")).where(F.col("n") > 1)
    res = cat.read(spark, "residents", cycle).select("resident_id", "primary_record_key")
    dups = (members.join(multi, "resident_id").join(res, "resident_id")
            .join(silver.select("record_key", "nik_token", "kk_token", "village_code"), "record_key")
            .select(F.lit(cycle).alias("cycle"), "resident_id", "record_key", "nik_token", "kk_token", "village_code",
                    (F.col("record_key") == F.col("primary_record_key")).alias("primary"), "method",
                    "match_probability"))
    cat.write(dups, "registry_duplicates", cycle=cycle)
    timings["write"] = round(time.time() - t, 1)
    model_dir = os.path.join(cat.root, "reports", cycle)
    os.makedirs(model_dir, exist_ok=True)
    for name, model in (("dedupe", reg["model"]), ("link", ag["model"])):
        with open(os.path.join(model_dir, f"linkage_model_{name}.json"), "w") as fh:
            json.dump(model, fh, indent=1, default=str)
    ag["_matcher"].close()
    for df in reg["_persisted"] + ag["_persisted"] + [members, agency_links]:
        df.unpersist()
    shutil.rmtree(scratch, ignore_errors=True)
    counts = cat.read(spark, "resolve_links", cycle).groupBy("source", "method").count().toPandas()
    review_n = cat.read(spark, "linkage_review", cycle).groupBy("kind").count().toPandas()
    summary = {
        "cycle": cycle, "registry_records": n_persons, "agency_records": n_agency,
        "residents": cat.read(spark, "residents", cycle).count(),
        "registry_duplicate_records": cat.read(spark, "registry_duplicates", cycle).where(~F.col("primary")).count(),
        "nik_conflicts": cat.read(spark, "nik_conflicts", cycle).count(),
        "links": {f"{r['source']}/{r['method']}": int(r["count"]) for r in counts.to_dict("records")},
        "agency_records_linked": int(counts[counts["source"] != "dukcapil"]["count"].sum()),
        "review": {r["kind"]: int(r["count"]) for r in review_n.to_dict("records")},
        "id_changes": cat.read(spark, "resident_id_history", cycle).count(),
        "compared_pairs": {"registry_dedup": reg["compared_pairs"], "agency_linkage": ag["compared_pairs"]},
        "seconds": timings, "step_seconds": {"dedupe": reg["seconds"], "link": ag["seconds"]},
        "wall_seconds": round(time.time() - started, 1)}
    return summary
