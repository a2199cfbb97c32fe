"""Each contract rule fires on the value that breaks it, and only there."""
from __future__ import annotations

from datetime import date

import pytest

from dtsen.contracts import Contract, Field
from dtsen.ingest import reasons as R
from dtsen.ingest.validate import region_reference, validate

PERSON = Contract("p", "1", "csv", "p", (
    Field("NIK", "nik", "nik", required=True),
    Field("KK", "kk", "kk"),
    Field("TGL", "birth_date", "date", format="dd-MM-yyyy", required=True),
    Field("JK", "sex", "enum", values={"LAKI-LAKI": "M", "PEREMPUAN": "F"}),
    Field("UMUR_KERJA", "years", "int", min=0, max=60),
    Field("KWH", "kwh", "decimal", decimal_comma=True, min=0),
    Field("DESA", "village_code", "region", level="village", required=True),
), delimiter=";", unique=("NIK",), nik_check={"nik": "nik", "birth_date": "birth_date", "sex": "sex",
                                                "severity": "reject"})
GOOD = ["3201015508950001", "3201011508950001", "15-08-1995", "PEREMPUAN", "12", "141,5", "32.01.01.1001"]


@pytest.fixture(scope="module")
def regions(spark):
    return region_reference(spark).cache()


def _run(spark, regions, rows, contract=PERSON, row_error=None):
    data = [("f", "sha", i + 1, r, row_error) for i, r in enumerate(rows)]
    df = spark.createDataFrame(data, "file_name string, file_sha256 string, line_number long, "
                                     "`values` array<string>, row_error string")
    out = validate(df, contract, regions, as_of=date(2026, 7, 1)).orderBy("line_number").collect()
    return [(sorted(r["reasons"]), sorted(r["flags"])) for r in out], out


def _with(i, value):
    row = list(GOOD)
    row[i] = value
    return row


@pytest.mark.parametrize("field,value,reason", [
    (0, "320101550895001", R.NIK_FORMAT),
    (0, "32010155089500011", R.NIK_FORMAT),
    (0, None, R.REQUIRED_MISSING),
    (0, "9901015508950001", R.NIK_REGION_UNKNOWN),
    (0, "3201011608950001", R.NIK_BIRTH_MISMATCH),          # day 16, recorded 15
    (0, "3201011508950001", R.NIK_SEX_MISMATCH),            # male day, recorded PEREMPUAN
    (0, "3201017308950001", R.NIK_DATE_INVALID),            # day 33 (73-40) does not exist
    (1, "3201", R.KK_FORMAT),
    (1, "9999011508950001", R.KK_REGION_UNKNOWN),
    (2, "31-02-1995", R.DATE_INVALID),
    (2, "1995-08-15", R.DATE_INVALID),
    (3, "WANITA", R.ENUM_UNKNOWN),
    (4, "12.5", R.NUMBER_INVALID),
    (4, "abc", R.NUMBER_INVALID),
    (4, "61", R.NUMBER_OUT_OF_RANGE),
    (5, "-1,0", R.NUMBER_OUT_OF_RANGE),
    (6, "32.01.01", R.REGION_FORMAT),
    (6, "3201019999", R.REGION_UNKNOWN),
])
def test_rule_fires_on_the_breaking_value(spark, regions, field, value, reason):
    got, _ = _run(spark, regions, [GOOD, _with(field, value)])
    assert got[0] == ([], [])                                    # the good row passes untouched
    assert reason in got[1][0]


def test_future_date_relative_to_the_cycle(spark, regions):
    got, _ = _run(spark, regions, [_with(2, "02-07-2026")])
    assert R.DATE_IN_FUTURE in got[0][0]


def test_enum_is_case_insensitive_and_values_are_typed(spark, regions):
    got, rows = _run(spark, regions, [_with(3, "perempuan")])
    assert got[0] == ([], [])
    r = rows[0]
    assert (r["sex"], r["years"], r["kwh"], r["village_code"], r["birth_date"]) == \
        ("F", 12, 141.5, "3201011001", date(1995, 8, 15))


def test_second_occurrence_of_a_key_is_the_duplicate(spark, regions):
    got, _ = _run(spark, regions, [GOOD, _with(4, "3"), GOOD])
    assert [g[0] for g in got] == [[], [R.DUPLICATE_KEY], [R.DUPLICATE_KEY]]


def test_unreadable_row_keeps_its_structural_reason_only(spark, regions):
    got, _ = _run(spark, regions, [[]], row_error=R.COLUMN_COUNT)
    assert got[0][0] == [R.COLUMN_COUNT]


def test_flag_severity_keeps_the_row_with_a_flag(spark, regions):
    flagging = Contract(**{**PERSON.__dict__, "nik_check": {**PERSON.nik_check, "severity": "flag"}})
    got, _ = _run(spark, regions, [_with(0, "3201011608950001")], contract=flagging)
    assert got[0] == ([], [R.NIK_BIRTH_MISMATCH, R.NIK_SEX_MISMATCH])


def test_details_follow_the_checks_and_reasons_are_their_distinct_codes_in_that_order(spark, regions):
    row = [None, "3201", None, "WANITA", "61", "141,5", "32.01.01.1001"]
    _, out = _run(spark, regions, [row])
    assert out[0]["details"] == [f"{R.REQUIRED_MISSING}:NIK", f"{R.KK_FORMAT}:KK", f"{R.REQUIRED_MISSING}:TGL",
                                 f"{R.ENUM_UNKNOWN}:JK", f"{R.NUMBER_OUT_OF_RANGE}:UMUR_KERJA"]
    assert out[0]["reasons"] == [R.REQUIRED_MISSING, R.KK_FORMAT, R.ENUM_UNKNOWN, R.NUMBER_OUT_OF_RANGE]
    assert out[0]["flags"] == []
