"""Identity resolution end to end on the generator's population (both cycles), scored against its
ground truth, with the evaluation tracked in MLflow."""
from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from dtsen.resolve.evaluate import evaluate, log_to_mlflow, record_truth

H1, H2 = "2026H1", "2026H2"


@pytest.fixture(scope="module")
def figures(resolved, spark, conf):
    return evaluate(spark, conf, H1)


def test_every_registry_record_has_one_resident_and_agency_records_at_most_one(resolved, spark, cat):
    links = cat.read(spark, "resolve_links", H1)
    assert links.groupBy("source", "record_key").count().where("count > 1").count() == 0
    persons = cat.read(spark, "silver_person", H1).select("record_key")
    reg = links.where(F.col("source") == "dukcapil")
    assert reg.count() == persons.count()
    assert reg.join(persons, "record_key", "left_anti").count() == 0
    assert links.where(F.col("resident_id").isNull()).count() == 0
    residents = cat.read(spark, "residents", H1)
    assert residents.count() == reg.select("resident_id").distinct().count() == resolved[H1]["residents"]


def test_registry_duplicates_are_found(figures):
    d = figures["registry_dedup"]
    assert d["true_pairs"] > 20                       # the population holds duplicate registrations
    assert d["precision"] >= 0.95 and d["recall"] >= 0.9, d
    assert figures["registry_dedup_recall_by_kind"]["duplicate_registration"]["recall"] >= 0.9


def test_agency_records_link_to_the_right_resident(figures):
    a = figures["agency_linkage"]
    assert a["precision"] >= 0.98 and a["recall"] >= 0.95, a
    kinds = figures["agency_recall_by_kind"]
    # records with no NIK at all can only be linked by the probabilistic pass
    assert kinds["nik_missing"]["records"] > 20 and kinds["nik_missing"]["recall"] >= 0.7, kinds["nik_missing"]
    for src, m in figures["agency_linkage_by_source"].items():
        if src != "consumption" and m["linkable"]:
            assert m["f1"] >= 0.9, (src, m)


def test_uncertain_pairs_go_to_clerical_review_not_into_links(resolved, spark, cat, conf):
    thr = conf.section("resolve.thresholds")
    review = cat.read(spark, "linkage_review", H1)
    reg = review.where(F.col("kind") == "registry_duplicate").toPandas()
    assert reg["match_probability"].between(thr["dedup_review"], thr["dedup_link"], inclusive="left").all()
    agency = review.where(F.col("kind") == "agency_link")
    assert agency.count() > 0 and agency.where(F.col("match_probability") < thr["agency_review"]).count() == 0
    links = cat.read(spark, "resolve_links", H1).select(F.col("record_key").alias("record_key_r"), "source")
    assert agency.join(links, ["record_key_r", "source"]).count() == 0     # reviewed, never linked
    pairs = resolved[H1]["compared_pairs"]
    assert pairs["registry_dedup"]["total"] > 0 and pairs["agency_linkage"]["total"] > 0
    assert sum(pairs["registry_dedup"]["by_rule"].values()) == pairs["registry_dedup"]["total"]


def test_duplicate_report_names_one_primary_per_resident(resolved, spark, cat):
    dups = cat.read(spark, "registry_duplicates", H1).toPandas()
    assert len(dups) > 0
    per = dups.groupby("resident_id")
    assert (per["primary"].sum() == 1).all() and (per.size() >= 2).all()


def test_ids_are_stable_across_cycles(resolved, spark, conf, cat):
    def ids(cycle, name):
        truth = record_truth(spark, conf, cat, cycle).where("source = 'dukcapil' AND registration = 'primary'")
        links = cat.read(spark, "resolve_links", cycle).where(F.col("source") == "dukcapil")
        return truth.join(links.select("record_key", F.col("resident_id").alias(name)), "record_key") \
            .select("person_key", name)

    both = ids(H1, "id1").join(ids(H2, "id2"), "person_key").toPandas()
    assert len(both) > 1000                           # people registered in both cycles
    assert (both["id1"] == both["id2"]).mean() >= 0.98   # the same person keeps the id
    a = cat.read(spark, "resident_ids", H1).select("anchor", F.col("resident_id").alias("id1"))
    b = cat.read(spark, "resident_ids", H2).select("anchor", F.col("resident_id").alias("id2"))
    moved = a.join(b, "anchor").where(F.col("id1") != F.col("id2")).select("id1", "id2").distinct().toPandas()
    history = cat.read(spark, "resident_id_history", H2).toPandas()
    # every id that changed is explained in the history
    explained = set(zip(history["old_id"], history["new_id"], strict=True))
    assert set(zip(moved["id1"], moved["id2"], strict=True)) <= explained


def test_outputs_hold_no_names(resolved, spark, cat):
    names = {r[0] for r in cat.read(spark, "truth_persons", H1).where(F.length("name") >= 8)
             .select("name").collect()}
    for table in ("resolve_links", "residents", "registry_duplicates", "linkage_review", "nik_conflicts"):
        df = cat.read(spark, table, H1)
        strings = [f.name for f in df.schema.fields if f.dataType.simpleString() == "string"]
        values = {v for r in df.select(*strings).collect() for v in r if v is not None}
        assert not values & names, table


def test_evaluation_is_logged_to_mlflow(figures, conf):
    import mlflow

    run_id = log_to_mlflow(conf, figures, H1)
    run = mlflow.get_run(run_id)
    assert run.data.metrics["dedup_f1"] == pytest.approx(figures["registry_dedup"]["f1"])
    assert run.data.metrics["link_f1"] == pytest.approx(figures["agency_linkage"]["f1"])
    assert run.data.params["threshold_dedup_link"] == str(conf.get("resolve.thresholds.dedup_link"))
    assert mlflow.get_tracking_uri().startswith("sqlite:///")
