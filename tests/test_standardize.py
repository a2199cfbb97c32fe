"""Spark name/code/address standardization: row-by-row equality with the Python reference in
``dtsen.synth.names``, plus hand-written cases for what later stages rely on."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F

from dtsen import standardize as st
from dtsen.synth import names as nm

N_NAMES = 5_000
MESSY = [
    "h.ahmad syafii,s.pd", "Hj  Siti Aminah", "DRS. BUDI SANTOSO, M.M.", "dr.ir.h. budi, m.b.a.",
    "prof dr budi", "Hajjah siti", "ahmad,spd", "BUDI S.PD. M.M", "AHMAD S.PD ,", "AHMAD, S.PD., X",
    "SITI, AMINAH", "H.\tAHMAD\u00a0SYAFII ,  S . Pd", "  S.PD. M.M.", "S.PD. M.M.", "H.", "H. ", "...",
    "ma'ruf amin", "Ma`ruf", "moch. soekarno", "M. ALI", "ALI M.", "\u00dfAHMAD", "SITI\u3000AMINAH\n",
    "HARTONO", "IRFAN HAKIM", "KH.ABDULLAH", "D'JOKO", "AHMAD, S. PD. I", "ahmad - syafii", "", "   ",
]


def _names() -> list[str]:
    """Generated names, one variant of each kind per name, then messy spellings of a sample."""
    rng = np.random.default_rng(3)
    female = rng.random(N_NAMES) < 0.5
    birth_year = rng.integers(1935, 2024, N_NAMES)
    base = [str(x) for x in nm.generate_names(np.random.default_rng(3), female, birth_year)]
    vr = np.random.default_rng(11)
    variants = [
        f(x)[0]
        for x in base
        for f in (nm.to_old_spelling, lambda y: nm.vary_muhammad(y, vr), lambda y: nm.toggle_title(y, vr),
                  lambda y: nm.typo(y, vr), lambda y: nm.drop_or_abbreviate_middle(y, vr))
    ]
    sample = (base + variants)[::7]
    lower = [x.lower() for x in sample[::2]]
    spaced = ["  " + x.replace(" ", "   ").replace(".", ". ") + " " for x in sample[1::2]]
    return base + variants + lower + spaced + MESSY


@pytest.fixture(scope="module")
def standardized(spark: SparkSession) -> list:
    names = _names()
    df = spark.createDataFrame(list(enumerate(names)), "i int, name string")
    s = F.col("name")
    out = df.select("i", "name", st.strip_titles(s).alias("core"), st.titles(s).alias("titles"),
                    st.name_key(s).alias("key"), st.phonetic_key(s).alias("phonetic"))
    rows = out.orderBy("i").collect()
    assert len(rows) == len(names)
    return rows


def _or_null(s: str) -> str | None:
    """The reference's '' is NULL on the Spark side (documented in dtsen.standardize)."""
    return s or None


def _assert_matches(rows: list, column: str, reference: Callable[[str], object]) -> None:
    mismatches = [(r.name, r[column], reference(r.name)) for r in rows if r[column] != reference(r.name)]
    shown = "\n".join(f"  {name!r}: spark={got!r} python={want!r}" for name, got, want in mismatches[:10])
    assert not mismatches, f"{len(mismatches)} of {len(rows)} rows differ on {column}:\n{shown}"


# ------------------------------------------------------------------------------------------------
# Equality with the reference
# ------------------------------------------------------------------------------------------------


def test_inputs_cover_titles_old_spelling_and_muhammad(standardized: list) -> None:
    """Guards the equality tests below against an input set that no longer exercises the rules."""
    assert sum(bool(r.titles) for r in standardized) > 500
    assert sum(r.name.upper() != (r.core or "") for r in standardized) > 500
    assert sum("OE" in r.name or "DJ" in r.name for r in standardized) > 300
    assert sum((r.key or "").startswith("MUHAMMAD") for r in standardized) > 500


def test_strip_titles_equals_reference(standardized: list) -> None:
    _assert_matches(standardized, "core", lambda x: _or_null(nm.split_titles(x)[0]))


def test_titles_equal_reference(standardized: list) -> None:
    _assert_matches(standardized, "titles", lambda x: nm.split_titles(x)[1])


def test_name_key_equals_reference(standardized: list) -> None:
    _assert_matches(standardized, "key", lambda x: _or_null(nm.name_key(x)))


def test_phonetic_key_equals_reference(standardized: list) -> None:
    _assert_matches(standardized, "phonetic", lambda x: _or_null(nm.phonetic_key(x)))


# ------------------------------------------------------------------------------------------------
# Hand-written expectations
# ------------------------------------------------------------------------------------------------


def _apply(spark: SparkSession, fn: Callable[[Column], Column], values: list[str | None]) -> list:
    df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], "i int, v string")
    return [r.out for r in df.select("i", fn(F.col("v")).alias("out")).orderBy("i").collect()]


def test_name_key_folds_muhammad_titles_and_old_spelling(spark: SparkSession) -> None:
    keys = _apply(spark, st.name_key, [
        "MOCH. SOEKARNO", "MUHAMAD SUKARNO", "H. MUHAMMAD SUKARNO, S.H.", "m sukarno",
        "DJOKO TJAHJONO", "JOKO CAHYONO", "Ma'ruf", "MARUF", "HARTONO", "IRFAN HAKIM",
    ])
    assert keys[:4] == ["MUHAMMAD SUKARNO"] * 4
    assert keys[4] == keys[5] == "YOKO CAHYONO"
    assert keys[6] == keys[7] == "MARUF"
    assert keys[8:] == ["HARTONO", "IRFAN HAKIM"]            # H./IR. titles need a dot or a space


def test_phonetic_key_merges_spellings_but_not_different_names(spark: SparkSession) -> None:
    codes = _apply(spark, st.phonetic_key, [
        "SITI AMINAH", "SITI AMINA", "Siti  Aminah", "AHMAD", "ACHMAD", "SYAIFUL", "SAIFUL",
        "EKO", "EKA", "BUDI", "BAYU",
    ])
    assert codes[0] == codes[1] == codes[2]
    assert codes[3] == codes[4]
    assert codes[5] == codes[6]
    assert len({codes[7], codes[8]}) == 2
    assert len({codes[9], codes[10]}) == 2


def test_titles_split_off_registry_mess(spark: SparkSession) -> None:
    values = ["h.ahmad syafii,s.pd", "Hj  Siti Aminah", "DRS. BUDI SANTOSO, M.M.", "SITI", "", None]
    assert _apply(spark, st.strip_titles, values) == [
        "AHMAD SYAFII", "SITI AMINAH", "BUDI SANTOSO", "SITI", None, None]
    assert _apply(spark, st.titles, values) == [["H.", "S.PD."], ["HJ."], ["DRS.", "M.M."], [], [], None]


@pytest.mark.parametrize("fn", [st.clean_name, st.strip_titles, st.name_key, st.phonetic_key])
def test_null_and_blank_names_stay_null(spark: SparkSession, fn: Callable[[Column], Column]) -> None:
    assert _apply(spark, fn, [None, "", "  \t ", "\x00"]) == [None] * 4


def test_control_characters_keep_reference_keys(spark: SparkSession) -> None:
    """The one documented difference: strip_titles cleans control characters, the keys do not care."""
    name = "H.\x00AHMAD\x7fSYAFII"
    assert _apply(spark, st.name_key, [name]) == [nm.name_key(name)] == ["H AHMAD SYAFII"]
    assert _apply(spark, st.strip_titles, [name]) == ["H. AHMAD SYAFII"]


def test_clean_name(spark: SparkSession) -> None:
    assert _apply(spark, st.clean_name, ["  siti\t aminah\x00 ", "h.ahmad,s.pd", "\u00a0budi\u3000santoso\r\n"]) == [
        "SITI AMINAH", "H.AHMAD,S.PD", "BUDI SANTOSO"]


# ------------------------------------------------------------------------------------------------
# Codes and addresses
# ------------------------------------------------------------------------------------------------


def test_digits_only(spark: SparkSession) -> None:
    assert _apply(spark, st.digits_only, ["3201.0123-4567 8901", " 3201012345678901 ", "NIK: -", "", None]) == [
        "3201012345678901", "3201012345678901", None, None, None]


def test_region_code(spark: SparkSession) -> None:
    assert _apply(spark, st.region_code, ["32.01.01.1001", " 3201011001 ", "32 01", "  ", None]) == [
        "3201011001", "3201011001", "3201", None, None]


ADDRESSES = {
    "jalan merdeka no 10 rt 3 rw 05": "JL. MERDEKA NO. 10 RT 003 RW 005",
    "Jl.Merdeka No:10 RT.003/RW.005": "JL. MERDEKA NO. 10 RT 003 RW 005",
    "JLN  MERDEKA NOMOR 10, RT03 RW5": "JL. MERDEKA NO. 10, RT 003 RW 005",
    "jl . merdeka no.10 rt/rw 3/5": "JL. MERDEKA NO. 10 RT 003 RW 005",
    "GANG MAWAR RT 012 RW 000": "GG. MAWAR RT 012 RW 000",
    "Gg Mawar": "GG. MAWAR",
    "DUSUN KRAJAN": "DSN. KRAJAN",
    "Dsn. Krajan": "DSN. KRAJAN",
    "KOMPLEKS GRIYA ASRI": "KOMP. GRIYA ASRI",
    "komplek griya asri": "KOMP. GRIYA ASRI",
    "KOMP. GRIYA ASRI": "KOMP. GRIYA ASRI",
    "PERUMAHAN BUMI INDAH": "PERUM. BUMI INDAH",
    "Perum Bumi Indah": "PERUM. BUMI INDAH",
    # Words only change when whole: place names that merely start with an abbreviation stay.
    "PERUMNAS KLENDER JLX": "PERUMNAS KLENDER JLX",
    "DESA GANGSAR RT 1234": "DESA GANGSAR RT 1234",
    "  ": None,
}


def test_normalize_address(spark: SparkSession) -> None:
    raw = [*ADDRESSES, None]
    got = _apply(spark, st.normalize_address, raw)
    assert dict(zip(raw, got)) == {**ADDRESSES, None: None}


def test_normalize_address_is_idempotent(spark: SparkSession) -> None:
    once = [v for v in ADDRESSES.values() if v is not None]
    assert _apply(spark, st.normalize_address, once) == once


def test_per_value_gives_every_row_what_computing_it_row_by_row_gives(spark: SparkSession) -> None:
    """Repeated names, NULL and blank names each get their own value's result, no row is lost or doubled."""
    names = [*MESSY, *MESSY[:10], None, None, "HARTONO"]
    df = spark.createDataFrame(list(enumerate(names)), "i int, name string")
    got = st.per_value(df, "name", lambda v: v.select("__v", st.name_key(F.col("__v")).alias("key"),
                                                      st.titles(F.col("__v")).alias("titles")))
    rows = got.orderBy("i").collect()
    assert [r["i"] for r in rows] == list(range(len(names)))
    assert got.columns == ["i", "name", "key", "titles"]
    assert [r["key"] for r in rows] == [_or_null(nm.name_key(x)) if x is not None else None for x in names]
    assert [r["titles"] for r in rows] == [list(nm.split_titles(x)[1]) if x is not None else None for x in names]
