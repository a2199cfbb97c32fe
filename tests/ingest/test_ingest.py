"""Ingest end to end on the generator's feeds, checked against its ground truth: every damaged row
in quarantine with the right reason, every good row in silver, exact reconciliation, idempotent
re-ingest, and no raw NIK or name outside the restricted tables."""
from __future__ import annotations

import os

import pandas as pd
import pytest
from pyspark.sql import functions as F

from dtsen.ingest import reasons as R
from dtsen.ingest.job import ingest
from dtsen.privacy import load_keys

CYCLE = "2026H1"
# ground-truth kind -> the reason ingest must give (None: the row never arrived)
EXPECTED = {"file_wrong_encoding": R.FILE_ENCODING, "file_wrong_delimiter": R.FILE_DELIMITER,
            "broken_encoding": R.ENCODING_INVALID, "wrong_column_count": R.COLUMN_COUNT,
            "broken_json": R.JSON_INVALID, "truncated_row": R.TRUNCATED_ROW, "bad_nik_length": R.NIK_FORMAT,
            "impossible_date": R.DATE_INVALID}
LOST = {"file_empty", "file_truncated"}
PRIORITY = list(EXPECTED)            # a file-level fault hides row faults; a broken row hides its values


@pytest.fixture(scope="module")
def ingested(ingested_cycles):
    """The summary of the cycle's first ingest (the suite's, tests/conftest.py)."""
    return ingested_cycles[CYCLE]


@pytest.fixture(scope="module")
def truth(ingested, spark, cat):
    files = cat.read(spark, "truth_files", CYCLE).toPandas()
    rec = cat.read(spark, "truth_records", CYCLE).toPandas()
    rec = rec.merge(files[["file_name", "file_error"]], on="file_name")
    return rec


def _expected_reason(kinds, source_format: str) -> str | None:
    if "file_truncated" in kinds and source_format == "parquet":
        return "lost"
    if set(kinds) & LOST:
        return "lost"
    for k in PRIORITY:
        if k in kinds:
            return EXPECTED[k]
    return None


def test_every_file_reconciles_exactly(ingested, spark, cat):
    recon = cat.read(spark, "ingest_reconciliation", CYCLE).toPandas()
    landed = sum(len(fs) for _, _, fs in os.walk(cat.landing_dir(CYCLE)))
    assert len(recon) == landed
    assert recon["balanced"].all()
    assert (recon["rows_in"] == recon["rows_accepted"] + recon["rows_quarantined"]).all()
    assert ingested["files_unbalanced"] == 0
    assert ingested["rows_in"] == ingested["rows_accepted"] + ingested["rows_quarantined"]


def test_damaged_rows_are_quarantined_with_the_right_reason(ingested, truth, spark, cat, conf):
    from dtsen.contracts import load_contract

    q = cat.read(spark, "quarantine", CYCLE).select("file_name", "line_number", "reasons").toPandas()
    q = q.rename(columns={"line_number": "row_number"})
    fmt = {s: load_contract(conf, s).format for s in truth["source"].unique()}
    t = truth.copy()
    t["want"] = [_expected_reason(k, fmt[s]) for k, s in zip(t["error_kinds"], t["source"])]
    damaged = t[t["want"].notna() & (t["want"] != "lost")].merge(q, on=["file_name", "row_number"], how="left")
    missing = damaged[damaged["reasons"].isna()]
    assert missing.empty, missing.head()
    wrong = damaged[[w not in r for w, r in zip(damaged["want"], damaged["reasons"])]]
    assert wrong.empty, wrong[["file_name", "row_number", "error_kinds", "want", "reasons"]].head()
    assert {r for rs in q["reasons"] for r in rs} >= {R.FILE_ENCODING, R.FILE_DELIMITER, R.NIK_FORMAT,
                                                      R.DATE_INVALID, R.ENCODING_INVALID, R.COLUMN_COUNT}


def test_no_good_row_is_lost_or_quarantined(ingested, truth, spark, cat, conf):
    from dtsen.contracts import load_contract

    fmt = {s: load_contract(conf, s).format for s in truth["source"].unique()}
    good = truth[[_expected_reason(k, fmt[s]) is None for k, s in zip(truth["error_kinds"], truth["source"])]]
    silver = []
    for s in good["source"].unique():
        table = f"silver_{load_contract(conf, s).silver}"
        silver.append(cat.read(spark, table, CYCLE).select("file_name", "line_number").toPandas())
    silver = pd.concat(silver).rename(columns={"line_number": "row_number"})
    got = good.merge(silver, on=["file_name", "row_number"], how="left", indicator=True)
    lost = got[got["_merge"] == "left_only"]
    assert lost.empty, lost[["file_name", "row_number", "error_kinds"]].head()
    assert len(silver) == len(good)                              # and nothing else got in


def test_reingest_adds_nothing(ingested, spark, cat, conf):
    before = {t: cat.read(spark, t, CYCLE).count() for t in ("bronze_rows", "silver_person", "quarantine", "pii")}
    again = ingest(spark, conf, cycle=CYCLE)
    assert again["files_read"] == 0 and again["files_skipped"] > 0
    after = {t: cat.read(spark, t, CYCLE).count() for t in before}
    assert after == before
    assert again["rows_in"] == ingested["rows_in"]


def _pln_rows(spark, cat, keys) -> tuple[list, list]:
    silver = cat.read(spark, "silver_electricity", CYCLE).where(F.col("source") == "pln")
    pii = cat.read(spark, "pii", CYCLE).where(F.col("source") == "pln").select(
        "record_key", F.to_json(keys.unseal(F.col("pii_enc"))).alias("pii"))
    return ([tuple(r) for r in silver.orderBy("record_key").collect()],
            [tuple(r) for r in pii.orderBy("record_key").collect()])


def test_one_source_can_be_reingested_alone_with_its_dictionaries_shuffled(ingested, spark, cat, conf):
    """`ingest --source pln` leaves other sources alone. It is also run with no dictionary broadcast
    (as at national scale, where they are too large): the shuffled joins must give every pln row
    the same silver columns and the same sealed names and addresses as the broadcast ones did."""
    keys = load_keys(conf)
    silver_before, pii_before = _pln_rows(spark, cat, keys)
    others = cat.read(spark, "silver_health_coverage", CYCLE).count()
    got = ingest(spark, conf.with_overrides({"ingest": {"broadcast_dictionary_rows": 0}}), cycle=CYCLE,
                 source="pln")
    assert got["sources"] == 1 and got["report"] is None          # the cycle's report is the gate's to write
    assert cat.read(spark, "silver_health_coverage", CYCLE).count() == others
    silver_after, pii_after = _pln_rows(spark, cat, keys)
    assert len(silver_after) > 100 and any('"address"' in p[1] for p in pii_after)
    assert silver_after == silver_before
    assert pii_after == pii_before


def test_no_raw_nik_or_name_outside_restricted_tables(ingested, spark, cat, conf):
    persons = cat.read(spark, "truth_persons", CYCLE).select("nik", "name")
    secrets = (persons.select(F.col("nik").alias("v"))
               .union(persons.where(F.length("name") >= 8).select(F.col("name").alias("v"))).distinct())
    tables = conf.section("catalog.tables")
    scanned = 0
    for name, spec in tables.items():
        if spec.get("restricted") or name.startswith("truth_") or not cat.exists(spark, name):
            continue
        df = cat.read(spark, name)
        strings = [f.name for f in df.schema.fields if f.dataType.simpleString() == "string"]
        if not strings:
            continue
        values = df.select(F.explode(F.array(*[F.col(c) for c in strings])).alias("v")).where(F.col("v").isNotNull())
        leaked = values.join(secrets, "v").limit(5).collect()
        assert not leaked, (name, leaked)
        scanned += 1
    assert scanned >= 10
    # and the restricted PII table holds them only sealed: one ciphertext per record, which the key opens
    pii = cat.read(spark, "pii", CYCLE)
    assert dict(pii.dtypes) == {"cycle": "string", "source": "string", "record_key": "string", "pii_enc": "binary"}
    keys = load_keys(conf)
    opened = (pii.where(F.col("source") == "dukcapil").select("record_key", keys.unseal(F.col("pii_enc")).alias("m"))
              .join(cat.read(spark, "silver_person", CYCLE).select("record_key", "birth_year"), "record_key"))
    rows = opened.select(F.col("m")["name"].alias("name"), F.col("m")["birth_date"].alias("birth_date"),
                         "birth_year").collect()
    assert len(rows) == cat.read(spark, "silver_person", CYCLE).count()
    names = {r["name"] for r in persons.select("name").collect()}
    assert sum(r["name"] in names for r in rows) / len(rows) > 0.9        # the rest carry injected typos
    assert all(r["birth_date"][:4] == str(r["birth_year"]) for r in rows)


def test_quality_report_is_written_and_readable(ingested, spark, cat):
    text = open(ingested["report"]).read()
    assert f"cycle {CYCLE}" in text and "| dukcapil |" in text and "FILE_" in text
    reasons = cat.read(spark, "dq_reasons", CYCLE).toPandas()
    q = cat.read(spark, "quarantine", CYCLE).select(F.explode("reasons")).count()
    assert reasons["rows"].sum() == q


def test_titles_are_split_into_their_own_field(ingested, spark, cat):
    from dtsen.synth.names import TITLES_PREFIX, TITLES_SUFFIX

    people = cat.read(spark, "silver_person", CYCLE).select("name_titles").toPandas()
    titled = people[people["name_titles"].apply(len) > 0]
    assert 0.01 < len(titled) / len(people) < 0.2
    known = set(TITLES_PREFIX) | set(TITLES_SUFFIX)
    assert {t for ts in titled["name_titles"] for t in ts} <= known


def test_same_content_under_two_names_is_ingested_once(ingested, spark, cat, conf):
    import shutil

    src_dir = cat.landing_dir(CYCLE, "dapodik")
    first = sorted(f for f in os.listdir(src_dir) if f.endswith(".csv"))[0]
    cycle = "2027H1"
    target = cat.landing_dir(cycle, "dapodik")
    os.makedirs(target, exist_ok=True)
    shutil.copy(os.path.join(src_dir, first), os.path.join(target, "a_" + first))
    shutil.copy(os.path.join(src_dir, first), os.path.join(target, "b_" + first))
    got = ingest(spark, conf, cycle=cycle, source="dapodik")
    log = cat.read(spark, "ingest_files", cycle).toPandas().set_index("file_name")
    assert log.loc["b_" + first, "status"] == "duplicate" and "a_" + first in log.loc["b_" + first, "message"]
    bronze = cat.read(spark, "bronze_rows", cycle).groupBy("file_name").count().toPandas()
    assert list(bronze["file_name"]) == ["a_" + first]
    recon = cat.read(spark, "ingest_reconciliation", cycle).toPandas()
    assert recon["balanced"].all() and got["rows_in"] == bronze["count"].sum() > 0


def test_each_row_gets_its_own_names_tokens(ingested, spark, cat, conf):
    """Names are standardized once for all sources (one dictionary of distinct values): every source's
    silver row must still carry the tokens of the name in its own PII record, as the pure-Python
    reference computes them, and titles as the reference splits them."""
    from dtsen.contracts import load_contract, sources
    from dtsen.synth.names import name_key, phonetic_key, split_titles

    keys = load_keys(conf)
    checked = set()
    for source in sources(conf):
        contract = load_contract(conf, source)
        fields = [f.name for f in contract.fields if f.type == "name"]
        if not fields:
            continue
        silver = cat.read(spark, f"silver_{contract.silver}", CYCLE).where(F.col("source") == source)
        pii = cat.read(spark, "pii", CYCLE).where(F.col("source") == source).select(
            "record_key", keys.unseal(F.col("pii_enc")).alias("pii"))
        got = (silver.join(pii, "record_key")
               .select(*[F.col("pii")[f].alias(f) for f in fields],
                       *[F.col(f"{f}_{x}").alias(f"{f}_{x}") for f in fields
                         for x in ("key_token", "phonetic_token", "titles")])
               .orderBy(F.rand(7)).limit(300).toPandas())
        assert len(got) > 0, source
        for f in fields:
            for row in got.itertuples():
                name = getattr(row, f)
                if name is None:
                    assert getattr(row, f"{f}_key_token") is None
                    continue
                key, sound = name_key(name), phonetic_key(name)
                assert getattr(row, f"{f}_key_token") == (keys.token_py(key) if key else None), (source, name)
                assert getattr(row, f"{f}_phonetic_token") == (keys.token_py(sound) if sound else None), (source, name)
                assert list(getattr(row, f"{f}_titles")) == split_titles(name)[1], (source, name)
        checked.add(source)
    assert len(checked) >= 5, checked


def test_a_dictionary_limit_that_is_not_a_row_count_stops_the_run(spark, conf):
    from dtsen.config import ConfigError
    from dtsen.ingest.job import Dictionaries

    bad = conf.with_overrides({"ingest": {"broadcast_dictionary_rows": "2M"}})
    with pytest.raises(ConfigError, match="broadcast_dictionary_rows"):
        Dictionaries(spark, bad, CYCLE, ["pln"], load_keys(conf))
