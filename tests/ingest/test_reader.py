"""The file reader never crashes, never drops a row, and says why a file or row cannot be read.
Property-based: hypothesis throws malformed files and rows at it."""
from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dtsen.contracts import Contract, Field
from dtsen.ingest import reasons as R
from dtsen.ingest.reader import read_bytes

CSV = Contract("demo", "1", "csv", "demo", (
    Field("ID", "record_id", "id", required=True), Field("NIK", "nik", "nik"), Field("NAMA", "name", "name"),
    Field("TGL", "birth_date", "date", format="dd-MM-yyyy")), delimiter=";", unique=("ID",),
    aliases={"NAMA_LENGKAP": "NAMA"})
JSONL = Contract("demo", "1", "jsonl", "demo", CSV.fields, aliases={"nama_lengkap": "NAMA"})
PARQUET = Contract("demo", "1", "parquet", "demo", CSV.fields)

cell = st.text(alphabet=st.characters(blacklist_characters=";\n\r\"", blacklist_categories=("Cs",)), max_size=12)


def _csv(rows: list[list[str]], header: str = "ID;NIK;NAMA;TGL", newline: bool = True) -> bytes:
    body = "\n".join([header] + [";".join(r) for r in rows])
    return (body + ("\n" if newline else "")).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
@example(b"\r\x01")                 # a header holding a bare carriage return once crashed the CSV reader
def test_any_bytes_never_crash_and_rows_are_numbered(data):
    for contract in (CSV, JSONL, PARQUET):
        got = read_bytes(data, contract)
        assert [r.line_number for r in got.rows] == list(range(1, len(got.rows) + 1))
        for r in got.rows:
            assert r.error is not None or len(r.values) == len(contract.fields)
        if got.status == "rejected":
            assert got.reason in R.FILE_REASONS and got.message


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cell, min_size=4, max_size=4), max_size=30))
def test_well_formed_csv_rows_all_come_through_unchanged(rows):
    got = read_bytes(_csv(rows), CSV)
    assert got.status == "ok" and len(got.rows) == len(rows)
    for r, want in zip(got.rows, rows):
        assert r.error is None
        assert r.values == [v if v != "" else None for v in want]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["1", "3201011508950001", "BUDI", "15-08-1995", ""]), min_size=4,
                         max_size=4), min_size=1, max_size=20), st.data())
def test_one_broken_row_is_flagged_alone(rows, data):
    rows = [r if any(r) else ["1", "", "", ""] for r in rows]
    bad = data.draw(st.integers(0, len(rows) - 1))
    kind = data.draw(st.sampled_from(["extra", "short", "encoding"]))
    lines = [";".join(r).encode() for r in rows]
    if kind == "extra":
        lines[bad] += b";X"
    elif kind == "short":
        lines[bad] = b";".join(lines[bad].split(b";")[:2])
    else:
        lines[bad] += b"\xc9"
    got = read_bytes(b"ID;NIK;NAMA;TGL\n" + b"\n".join(lines) + b"\n", CSV)
    want = R.ENCODING_INVALID if kind == "encoding" else R.COLUMN_COUNT
    assert [r.line_number for r in got.rows if r.error] == [bad + 1]
    assert got.rows[bad].error == want
    assert len(got.rows) == len(rows)                          # nothing dropped


def test_empty_file_is_rejected_as_a_file():
    got = read_bytes(b"", CSV)
    assert (got.status, got.reason, got.rows) == ("rejected", R.FILE_EMPTY, [])


def test_utf16_file_is_rejected_and_every_row_counted():
    data = _csv([["1", "3201011508950001", "BUDI", "15-08-1995"], ["2", "", "SITI", "01-01-2000"]]).decode()
    got = read_bytes(data.encode("utf-16"), CSV)
    assert got.reason == R.FILE_ENCODING and "UTF-16" in got.message
    assert [r.error for r in got.rows] == [R.FILE_ENCODING, R.FILE_ENCODING]


def test_wrong_delimiter_is_named_in_the_message():
    got = read_bytes(b"ID,NIK,NAMA,TGL\n1,3201011508950001,BUDI,15-08-1995\n", CSV)
    assert got.reason == R.FILE_DELIMITER and "','" in got.message and len(got.rows) == 1


def test_missing_required_column_rejects_the_file_with_its_name():
    got = read_bytes(b"NIK;NAMA;TGL\n3201011508950001;BUDI;15-08-1995\n", CSV)
    assert got.reason == R.FILE_MISSING_COLUMN and "['ID']" in got.message
    assert got.rows[0].error == R.FILE_MISSING_COLUMN


def test_schema_drift_renamed_extra_and_missing_optional_columns():
    got = read_bytes(b"ID;NAMA_LENGKAP;TGL;HP\n7;BUDI;15-08-1995;0812\n", CSV)
    assert got.status == "ok"
    assert set(got.drift) == {("renamed", "NAMA_LENGKAP->NAMA"), ("extra", "HP"), ("missing", "NIK")}
    assert got.rows[0].values == ["7", None, "BUDI", "15-08-1995"]


def test_cut_file_flags_only_its_last_row():
    data = _csv([["1", "3201011508950001", "BUDI", "15-08-1995"], ["2", "3201", "SI"]], newline=False)
    got = read_bytes(data, CSV)
    assert [r.error for r in got.rows] == [None, R.TRUNCATED_ROW]
    relaxed = read_bytes(_csv([["1", "3201011508950001", "BUDI", "15-08-1995"]], newline=False), CSV,
                         final_newline_required=False)
    assert relaxed.rows[0].error is None


def test_jsonl_rows_keys_aliases_and_breakage():
    lines = [json.dumps({"ID": 1, "NIK": "3201011508950001", "nama_lengkap": "BUDI", "TGL": "15-08-1995"}),
             '{"ID": 2, "NIK": "32010', "[1, 2]", ""]
    got = read_bytes(("\n".join(lines) + "\n").encode(), JSONL)
    assert got.rows[0].values == ["1", "3201011508950001", "BUDI", "15-08-1995"]
    assert [r.error for r in got.rows] == [None, R.JSON_INVALID, R.JSON_INVALID, R.BLANK_ROW]
    assert ("renamed", "nama_lengkap->NAMA") in got.drift


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                          lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner,
                                                                                      max_size=2), max_leaves=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["ID", "NIK", "NAMA", "nama_lengkap", "TGL", "other"]), json_value),
                min_size=1, max_size=10))
def test_jsonl_values_of_every_json_type_come_through_as_text(objects):
    """Strings and nulls are taken as they are, everything else as its text (True -> 'true', 2.0 -> '2');
    an alias fills its field unless the file also has the field itself."""
    def text(v):
        if v is None or isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    got = read_bytes(("\n".join(json.dumps(o) for o in objects) + "\n").encode(), JSONL)
    for r, o in zip(got.rows, objects, strict=True):
        want = {**({"NAMA": o["nama_lengkap"]} if "nama_lengkap" in o else {}), **o}
        assert r.error is None
        assert r.values == [text(want.get(n)) for n in ("ID", "NIK", "NAMA", "TGL")]


def test_parquet_rows_and_a_truncated_parquet():
    buf = io.BytesIO()
    pq.write_table(pa.table({"ID": [1, 2], "NIK": ["3201011508950001", None], "NAMA": ["A", "B"],
                             "TGL": ["15-08-1995", "x"]}), buf)
    got = read_bytes(buf.getvalue(), PARQUET)
    assert [r.values for r in got.rows] == [["1", "3201011508950001", "A", "15-08-1995"], ["2", None, "B", "x"]]
    cut = read_bytes(buf.getvalue()[: len(buf.getvalue()) // 2], PARQUET)
    assert cut.reason == R.FILE_CORRUPT and cut.rows == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(*[st.none() | s for s in (
    st.text(max_size=12), st.integers(-2**63, 2**63 - 1), st.floats(), st.booleans(), st.dates(),
    st.lists(st.integers(0, 9), max_size=3))]), min_size=1, max_size=20))
def test_parquet_raw_rows_are_json_of_each_record(rows):
    """The raw text of a Parquet row is built a column at a time: it must equal json.dumps of the row's
    record, whatever the types, escapes and nulls (the Python reference it replaces)."""
    import datetime

    cols = list(zip(*rows))
    table = pa.table({"ID": pa.array(cols[0], pa.string()), "NIK": pa.array(cols[1], pa.int64()),
                      "x\"é": pa.array(cols[2], pa.float64()), "flag": pa.array(cols[3], pa.bool_()),
                      "TGL": pa.array(cols[4], pa.date32()), "NAMA": pa.array(cols[5], pa.list_(pa.int8()))})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    got = read_bytes(buf.getvalue(), PARQUET)
    want = [json.dumps(r, default=str, ensure_ascii=False, separators=(",", ":")) for r in table.to_pylist()]
    assert [r.raw for r in got.rows] == want
    assert [r.values[1] for r in got.rows] == [None if v is None else str(v) for v in cols[1]]
    assert [r.values[3] for r in got.rows] == [v.isoformat() if isinstance(v, datetime.date) else None for v in cols[4]]


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(',;|\t"\r\x00 ab\u00e9\u2028\'\\')), max_size=24),
       st.sampled_from([",", ";", "|", "\t"]))
def test_a_line_splits_exactly_as_the_csv_module_splits_it(text, sep):
    """Lines without quotes take a fast path (str.split): it must agree with csv on every line."""
    import csv

    from dtsen.ingest.reader import _fields

    try:
        expected = next(csv.reader([text], delimiter=sep), [])
    except csv.Error:
        expected = None
    assert _fields(text, sep) == expected
