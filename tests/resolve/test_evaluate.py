"""Linkage evaluation, the exact pass's agreement test, the any-order birth date key and the family-head
link on hand-built records with known answers."""
from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from dtsen.resolve.evaluate import score
from dtsen.resolve.job import _agree, family_head_links
from dtsen.resolve.records import any_order

TRUTH = "source string, record_key string, person_key string, registration string, error_kinds array<string>"
LINKS = "source string, record_key string, resident_id string, method string"


@pytest.fixture(scope="module")
def figures(spark):
    truth = spark.createDataFrame([
        ("dukcapil", "r1", "A", "primary", []),
        ("dukcapil", "r2", "A", "duplicate", ["name_typo"]),
        ("dukcapil", "r3", "B", "primary", []),
        ("dukcapil", "r4", "C", "primary", []),
        ("bpjs_kesehatan", "a1", "A", None, []),
        ("bpjs_kesehatan", "a2", "C", None, ["nik_missing"]),
        ("bpjs_kesehatan", "a3", "D", None, []),          # D is not in the registry
        ("samsat", "v1", "C", None, ["title"]),
    ], TRUTH)
    links = spark.createDataFrame([
        ("dukcapil", "r1", "X", "exact"), ("dukcapil", "r2", "X", "probabilistic"),
        ("dukcapil", "r3", "X", "probabilistic"),          # B wrongly merged into A's resident
        ("dukcapil", "r4", "Y", "registry"),
        ("bpjs_kesehatan", "a1", "X", "exact"),            # X stands for A (two of its three records)
        ("bpjs_kesehatan", "a3", "Y", "probabilistic"),    # D is not C: a wrong link
        ("samsat", "v1", "Y", "probabilistic"),
    ], LINKS)
    return score(truth, links)


def test_pairwise_and_cluster_figures(figures):
    d = figures["registry_dedup"]
    # predicted pairs: X holds r1 r2 r3 -> 3; true pairs: (r1, r2) -> 1, found
    assert (d["predicted_pairs"], d["true_pairs"], d["true_positive_pairs"]) == (3, 1, 1)
    assert d["precision"] == pytest.approx(1 / 3, abs=1e-6) and d["recall"] == 1.0
    assert d["f1"] == pytest.approx(0.5, abs=1e-6)
    # only C's records form exactly one resident holding nothing else
    assert d["persons"] == 3 and d["residents"] == 2 and d["cluster_exact_share"] == pytest.approx(1 / 3, abs=1e-6)
    assert figures["registry_dedup_recall_by_kind"]["name_typo"] == {"records": 1, "recall": 1.0}


def test_agency_figures_per_source_and_kind(figures):
    h = figures["agency_linkage_by_source"]["bpjs_kesehatan"]
    # linkable a1, a2 (D is not registered); linked a1, a3; correct a1
    assert (h["records"], h["linkable"], h["linked"], h["correct"]) == (3, 2, 2, 1)
    assert h["precision"] == 0.5 and h["recall"] == 0.5
    assert figures["agency_linkage_by_source"]["samsat"]["f1"] == 1.0
    a = figures["agency_linkage"]
    assert (a["linkable"], a["linked"], a["correct"]) == (3, 3, 2)
    kinds = figures["agency_recall_by_kind"]
    assert kinds["nik_missing"]["recall"] == 0.0 and kinds["title"]["recall"] == 1.0
    assert kinds["all"] == {"records": 3, "recall": pytest.approx(2 / 3, abs=1e-6)}


COLS = ("record_key string, name string, name_key_token string, name_phonetic_token string, birth_date string, "
        "sex string")


@pytest.mark.parametrize("left, right, same", [
    (("MUHAMAD RIZKI", "k1", "p1", "1990-03-04", "L"), ("MUHAMMAD RIZKI", "k1", "p1", "1990-03-04", "L"), True),
    (("SITI AMINAH", "k2", "p2", "1985-07-12", "P"), ("SITI AMINA", "k3", "p3", "1985-12-07", "P"), True),
    (("BUDI SANTOSO", "k4", "p4", "1970-01-01", "L"), (None, None, None, None, None), True),
    # one NIK, two people: a mother and her son, or the same name born decades apart
    (("SRI WAHYUNI", "k5", "p5", "1960-05-05", "P"), ("AGUS SETIAWAN", "k6", "p6", "1988-02-02", "L"), False),
    (("AHMAD FAUZI", "k7", "p7", "1950-01-20", "L"), ("AHMAD FAUZI", "k7", "p7", "1999-11-03", "L"), False),
    (("DEWI LESTARI", "k8", "p8", "1992-06-15", "P"), ("DEWI LESTARI", "k8", "p8", "1992-06-15", "L"), False),
])
def test_exact_pass_agreement_and_conflicts(spark, left, right, same):
    rows = spark.createDataFrame([("l", *left), ("r", *right)], COLS)
    pair = rows.where("record_key = 'l'").alias("l").crossJoin(rows.where("record_key = 'r'").alias("r"))
    assert pair.select(_agree("l", "r", 0.85).alias("a")).first()["a"] is same


def test_birth_date_in_any_order_meets_its_swapped_twin(spark):
    rows = spark.createDataFrame([("1986-09-07",), ("1986-07-09",), ("1986-09-17",), ("1987-07-09",), (None,)],
                                 "birth_date string")
    got = [r["k"] for r in rows.select(any_order(F.col("birth_date")).alias("k")).collect()]
    assert got == ["1986-07-09", "1986-07-09", "1986-09-17", "1987-07-09", None]


HEADS = "kk_token string, resident_id string, name string, name_key_token string, name_phonetic_token string, " \
        "birth_date string, sex string"
AGENCY = "record_key string, source string, family_head boolean, kk_token string, name string, " \
         "name_key_token string, name_phonetic_token string, birth_date string, sex string"


def test_a_family_heads_record_without_a_nik_link_goes_to_the_one_head_of_its_kk(spark):
    heads = spark.createDataFrame([
        ("kk1", "R1", "SUPARMAN", "SUPARMAN", "SPRMN", "1970-01-02", "L"),
        ("kk2", "R2", "DEWI LESTARI", "DEWI LESTARI", "DWLSTR", "1980-05-05", "P"),
        ("kk2", "R3", "AGUS SALIM", "AGUS SALIM", "AGSSLM", "1979-03-03", "L"),   # two heads: ambiguous
        ("kk3", "R4", "SITI AMINAH", "SITI AMINAH", "STAMN", "1965-04-04", "P"),
        ("kk3", "R4", "SITI AMINA", "SITI AMINA", "STAMN", "1965-04-04", "P"),    # one resident, twice
    ], HEADS)
    records = spark.createDataFrame([
        ("c1", "susenas", True, "kk1", None, None, None, None, None),                 # no name: the KK says
        ("c2", "susenas", True, "kk2", None, None, None, None, None),                 # two heads: not linked
        ("s1", "regsosek", True, "kk3", "SITI AMINAH", "SITI AMINAH", "STAMN", None, None),
        ("s2", "regsosek", True, "kk1", "BUDI SANTOSO", "BUDI SANTOSO", "BTSNT", None, None),  # not the head
        ("v1", "samsat", False, "kk1", "SUPARMAN", "SUPARMAN", "SPRMN", None, None),  # not a head's record
        ("c3", "susenas", True, None, None, None, None, None, None),                  # no KK
        ("c4", "susenas", True, "kk9", None, None, None, None, None),                 # KK not in the registry
    ], AGENCY)
    links = {r["record_key"]: (r["resident_id"], r["method"], r["match_probability"])
             for r in family_head_links(records, heads, 0.85).collect()}
    assert links == {"c1": ("R1", "family_head", 1.0), "s1": ("R4", "family_head", 1.0)}
