"""Validation of bronze rows against their data contract, as Spark built-in expressions.

`validate` adds typed canonical columns, `reasons` (codes that send a row to quarantine),
`details` (code:field, for people) and `flags` (kept rows with a warning, e.g. a NIK whose
embedded birth date disagrees with an agency's record: a linkage signal, not a reason to drop).
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dtsen.columns import labels_where
from dtsen.contracts import REGION_DIGITS, Contract, Field
from dtsen.ingest import reasons as R
from dtsen.regions import villages


def region_reference(spark: SparkSession) -> DataFrame:
    """Every valid region code at every level: (level, code)."""
    v = villages()
    rows = []
    for level, col in (("province", "province_code"), ("regency", "regency_code"),
                       ("district", "district_code"), ("village", "village_code")):
        rows += [(level, c) for c in sorted(v[col].unique())]
    return spark.createDataFrame(rows, "level string, code string")


def raw_value(i: int) -> Column:
    """Field i of a bronze row as validation reads it: trimmed, blank -> NULL."""
    v = F.trim(F.get(F.col("values"), i))
    return F.when(v == "", F.lit(None)).otherwise(v)


def _digits(c: Column) -> Column:
    d = F.regexp_replace(c, r"[^0-9]", "")
    return F.when(d == "", F.lit(None)).otherwise(d)


def check(bronze: DataFrame, contract: Contract, regions: DataFrame, *, as_of: date) -> DataFrame:
    """Typed columns + reasons/details/flags for every bronze row of one source, and the raw unique-key
    values as `_key<i>` for `mark_duplicates`.

    Built as a few wide selects over materialized columns, never by nesting Column objects: an
    expression used by several checks is computed once per row (nesting them made regsosek's 45
    fields cost ~40 casts each)."""
    fields = contract.fields
    # 1. raw text per field
    df = bronze.select("*", *[raw_value(i).alias(f"_raw_{f.name}") for i, f in enumerate(fields)])
    # 2. values that need a second look: parsed numbers, cleaned codes
    pre = []
    for f in fields:
        raw = F.col(f"_raw_{f.name}")
        if f.type in ("int", "decimal"):
            text = F.regexp_replace(raw, ",", ".") if f.decimal_comma else raw
            pre.append(text.try_cast("double").alias(f"_d_{f.name}"))
        elif f.type == "region":
            pre.append(_digits(raw).alias(f"_d_{f.name}"))
        elif f.type in ("nik", "kk"):
            pre.append(raw.rlike(r"^[0-9]{16}$").alias(f"_d_{f.name}"))
    df = df.select("*", *pre)
    # 3. existence of region codes (broadcast joins against the Kemendagri list)
    ref = F.broadcast(regions)
    for f in fields:
        if f.type in ("nik", "kk", "region"):
            level = "district" if f.type in ("nik", "kk") else f.level
            d = F.col(f"_d_{f.name}")
            code = F.when(d, F.substring(F.col(f"_raw_{f.name}"), 1, 6)) if f.type in ("nik", "kk") else \
                F.when(F.length(d) == REGION_DIGITS[f.level], d)
            known = ref.where(F.col("level") == level).select(F.col("code").alias(f"_k_{f.name}"),
                                                              F.lit(True).alias(f"_ok_{f.name}"))
            df = df.withColumn(f"_c_{f.name}", code)
            df = df.join(known, df[f"_c_{f.name}"] == known[f"_k_{f.name}"], "left").drop(f"_k_{f.name}")
    # 4. typed canonical values
    typed = []
    for f in fields:
        raw, d = F.col(f"_raw_{f.name}"), F.col(f"_d_{f.name}")
        if f.type in ("nik", "kk"):
            typed.append(F.when(d, raw).alias(f.name))
        elif f.type == "date":
            typed.append(F.try_to_date(raw, f.format).alias(f.name))
        elif f.type == "enum":
            mapping = F.create_map(*[x for k, v in f.values.items() for x in (F.lit(k.upper()), F.lit(v))])
            typed.append(F.try_element_at(mapping, F.upper(raw)).alias(f.name))
        elif f.type in ("int", "decimal"):
            ok = ~F.isnan(d) & (F.abs(d) < 1e18)          # not 'NaN' / 'Infinity' / absurd sizes
            value = F.when(ok & (d == F.floor(d)), d.cast("long")) if f.type == "int" else F.when(ok, d)
            typed.append(value.alias(f.name))
        elif f.type == "region":
            typed.append(F.col(f"_c_{f.name}").alias(f.name))
        else:   # id, code, name, text, address: kept as text; standardization comes later
            typed.append(raw.alias(f.name))
    df = df.select("*", *typed)
    # 5. checks, each one boolean column, then one array of 'CODE:field' strings
    checks: list[tuple[str, Field, Column]] = []
    for f in fields:
        raw, val = F.col(f"_raw_{f.name}"), F.col(f.name)
        if f.required:
            checks.append((R.REQUIRED_MISSING, f, raw.isNull()))
        if f.type in ("nik", "kk"):
            fmt_code, region_code = (R.NIK_FORMAT, R.NIK_REGION_UNKNOWN) if f.type == "nik" else \
                (R.KK_FORMAT, R.KK_REGION_UNKNOWN)
            checks.append((fmt_code, f, raw.isNotNull() & ~F.col(f"_d_{f.name}")))
            checks.append((region_code, f, F.col(f"_d_{f.name}") & F.col(f"_ok_{f.name}").isNull()))
        elif f.type == "date":
            checks.append((R.DATE_INVALID, f, raw.isNotNull() & val.isNull()))
            checks.append((R.DATE_IN_FUTURE, f, val > F.lit(as_of)))
        elif f.type == "enum":
            checks.append((R.ENUM_UNKNOWN, f, raw.isNotNull() & val.isNull()))
        elif f.type in ("int", "decimal"):
            checks.append((R.NUMBER_INVALID, f, raw.isNotNull() & val.isNull()))
            out = F.lit(False)
            if f.min is not None:
                out = out | (val < F.lit(f.min))
            if f.max is not None:
                out = out | (val > F.lit(f.max))
            checks.append((R.NUMBER_OUT_OF_RANGE, f, val.isNotNull() & out))
        elif f.type == "region":
            d = F.col(f"_d_{f.name}")
            wrong_length = d.isNull() | (F.length(d) != REGION_DIGITS[f.level])
            checks.append((R.REGION_FORMAT, f, raw.isNotNull() & wrong_length))
            checks.append((R.REGION_UNKNOWN, f, val.isNotNull() & F.col(f"_ok_{f.name}").isNull()))

    flags: list[tuple[Column, str]] = []
    if contract.nik_check:
        c = contract.nik_check
        nik, birth = F.col(c["nik"]), F.col(c["birth_date"])
        day = F.substring(nik, 7, 2).cast("int")
        female = day > 40
        nday = F.when(female, day - 40).otherwise(day)
        month = F.substring(nik, 9, 2).cast("int")
        yy = F.substring(nik, 11, 2).cast("int")
        date_ok = nday.between(1, 31) & month.between(1, 12)
        fnik = contract.field(c["nik"])
        found = [(R.NIK_DATE_INVALID, nik.isNotNull() & ~date_ok),
                 (R.NIK_BIRTH_MISMATCH, nik.isNotNull() & date_ok & birth.isNotNull() & (
                     (F.dayofmonth(birth) != nday) | (F.month(birth) != month) | (F.year(birth) % 100 != yy)))]
        if c.get("sex"):
            sex = F.col(c["sex"])
            found.append((R.NIK_SEX_MISMATCH, nik.isNotNull() & date_ok & sex.isNotNull() & ((sex == "F") != female)))
        if c.get("severity", "reject") == "reject":
            checks += [(code, fnik, cond) for code, cond in found]
        else:
            flags = [(cond, code) for code, cond in found]

    df = df.select("*", *[cond.alias(f"_chk{i}") for i, (_, _, cond) in enumerate(checks)])
    # details 'CODE:field' in check order; reasons the distinct codes in the order details first name them
    row_error = F.col("row_error")
    failed = row_error.isNotNull()
    df = df.select(
        "*",
        F.when(failed, F.array(row_error)).otherwise(labels_where(
            (F.col(f"_chk{i}"), f"{code}:{f.source_name}") for i, (code, f, _) in enumerate(checks)))
        .alias("details"),
        F.when(failed, F.array(F.split(row_error, ":")[0])).otherwise(F.array_distinct(labels_where(
            (F.col(f"_chk{i}"), code) for i, (code, _, _) in enumerate(checks)))).alias("reasons"),
        labels_where(flags).alias("flags"))

    scratch = ("_raw_", "_c_", "_ok_", "_d_", "_chk")
    keys = [F.col(f"_raw_{fields[contract.source_names.index(u)].name}").alias(f"_key{i}")
            for i, u in enumerate(contract.unique)]
    return df.select(*[c for c in df.columns if not c.startswith(scratch)], *keys)


def duplicate_lines(checked: DataFrame, contract: Contract) -> DataFrame | None:
    """(file_sha256, line_number) of the rows whose unique key an earlier line of the same file holds,
    among rows that pass every other check; None when the contract has no unique key.

    The window runs over a narrow projection (file, line, key) of the clean rows: sorting whole rows
    cost ~20 us per row. The result is small: persist it when several outputs read it."""
    key_cols = [c for c in checked.columns if c.startswith("_key")]
    if not contract.unique:
        return None
    w = Window.partitionBy("file_sha256", *key_cols).orderBy("line_number")
    return (checked.where(F.size("reasons") == 0).select("file_sha256", "line_number", *key_cols)
            .withColumn("_n", F.row_number().over(w)).where(F.col("_n") > 1)
            .select("file_sha256", "line_number", F.lit(True).alias("_dup")))


def mark_duplicates(checked: DataFrame, contract: Contract, dups: DataFrame | None = None) -> DataFrame:
    """A key seen twice in one file among rows that pass every other check: the first occurrence (by
    line) stands, later ones go to quarantine as DUPLICATE_KEY. `dups` is `duplicate_lines` of
    `checked` when the caller already has it."""
    key_cols = [c for c in checked.columns if c.startswith("_key")]
    if dups is None:
        dups = duplicate_lines(checked, contract)
    if dups is None:
        return checked.drop(*key_cols)
    dup_detail = F.array(F.lit(f"{R.DUPLICATE_KEY}:{'+'.join(contract.unique)}"))
    dup_reason = F.array(F.lit(R.DUPLICATE_KEY))
    dup = F.col("_dup").isNotNull()
    return (checked.join(dups, ["file_sha256", "line_number"], "left")
            .withColumn("reasons", F.when(dup, dup_reason).otherwise(F.col("reasons")))
            .withColumn("details", F.when(dup, dup_detail).otherwise(F.col("details")))
            .drop("_dup", *key_cols))


def validate(bronze: DataFrame, contract: Contract, regions: DataFrame, *, as_of: date) -> DataFrame:
    """`check` then `mark_duplicates`, for callers that read the result once."""
    return mark_duplicates(check(bronze, contract, regions, as_of=as_of), contract)
