"""Validation of bronze rows against their data contract, as Spark built-in expressions.

`validate` adds typed canonical columns, `reasons` (codes that send a row to quarantine),
`details` (code:field, for people) and `flags` (kept rows with a warning, e.g. a NIK whose
embedded birth date disagrees with an agency's record: a linkage signal, not a reason to drop).
"""
from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

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


def _raw(i: int) -> Column:
    v = F.trim(F.get(F.col("values"), i))
    return F.when(v == "", F.lit(None)).otherwise(v)


def _digits(c: Column) -> Column:
    d = F.regexp_replace(c, r"[^0-9]", "")
    return F.when(d == "", F.lit(None)).otherwise(d)


def _check(cond: Column, code: str, f: Field) -> tuple[Column, Column]:
    return (F.when(cond, F.lit(code)), F.when(cond, F.lit(f"{code}:{f.source_name}")))


def validate(bronze: DataFrame, contract: Contract, regions: DataFrame, *, as_of: date) -> DataFrame:
    """Typed columns + reasons/details/flags for every bronze row of one source."""
    df = bronze
    for i, f in enumerate(contract.fields):
        df = df.withColumn(f"_raw_{f.name}", _raw(i))
    checks: list[tuple[Column, Column]] = []
    flags: list[Column] = []
    ref = F.broadcast(regions)

    def exists(df: DataFrame, code: Column, level: str, alias: str) -> DataFrame:
        known = ref.where(F.col("level") == level).select(F.col("code").alias(f"_k_{alias}"))
        df = df.withColumn(f"_c_{alias}", code)
        df = df.join(known, df[f"_c_{alias}"] == known[f"_k_{alias}"], "left")
        return df.withColumn(f"_ok_{alias}", F.col(f"_k_{alias}").isNotNull()).drop(f"_k_{alias}")

    for f in contract.fields:
        raw = F.col(f"_raw_{f.name}")
        if f.required:
            checks.append(_check(raw.isNull(), R.REQUIRED_MISSING, f))
        if f.type in ("nik", "kk"):
            fmt_code, region_code = (R.NIK_FORMAT, R.NIK_REGION_UNKNOWN) if f.type == "nik" else \
                (R.KK_FORMAT, R.KK_REGION_UNKNOWN)
            shape = raw.rlike(r"^[0-9]{16}$")
            df = exists(df, F.when(shape, F.substring(raw, 1, 6)), "district", f.name)
            df = df.withColumn(f.name, F.when(shape, raw))
            checks.append(_check(raw.isNotNull() & ~shape, fmt_code, f))
            checks.append(_check(shape & ~F.col(f"_ok_{f.name}"), region_code, f))
        elif f.type == "date":
            parsed = F.try_to_date(raw, f.format)
            df = df.withColumn(f.name, parsed)
            checks.append(_check(raw.isNotNull() & parsed.isNull(), R.DATE_INVALID, f))
            checks.append(_check(parsed > F.lit(as_of), R.DATE_IN_FUTURE, f))
        elif f.type == "enum":
            mapping = F.create_map(*[x for k, v in f.values.items() for x in (F.lit(k.upper()), F.lit(v))])
            mapped = F.try_element_at(mapping, F.upper(raw))
            df = df.withColumn(f.name, mapped)
            checks.append(_check(raw.isNotNull() & mapped.isNull(), R.ENUM_UNKNOWN, f))
        elif f.type in ("int", "decimal"):
            text = F.regexp_replace(raw, ",", ".") if f.decimal_comma else raw
            num = text.try_cast("double")
            num = F.when(~F.isnan(num) & (F.abs(num) < 1e18), num)   # not 'NaN' / 'Infinity' / absurd sizes
            if f.type == "int":
                num = F.when(num == F.floor(num), num.cast("long"))
            df = df.withColumn(f.name, num)
            checks.append(_check(raw.isNotNull() & num.isNull(), R.NUMBER_INVALID, f))
            out = F.lit(False)
            if f.min is not None:
                out = out | (num < F.lit(f.min))
            if f.max is not None:
                out = out | (num > F.lit(f.max))
            checks.append(_check(num.isNotNull() & out, R.NUMBER_OUT_OF_RANGE, f))
        elif f.type == "region":
            code = _digits(raw)
            right = code.isNotNull() & (F.length(code) == REGION_DIGITS[f.level])
            df = exists(df, F.when(right, code), f.level, f.name)
            df = df.withColumn(f.name, F.when(right, code))
            checks.append(_check(raw.isNotNull() & ~right, R.REGION_FORMAT, f))
            checks.append(_check(right & ~F.col(f"_ok_{f.name}"), R.REGION_UNKNOWN, f))
        else:   # id, code, name, text, address: kept as text; standardization comes later
            df = df.withColumn(f.name, raw)

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
        bad_date = nik.isNotNull() & ~date_ok
        mismatch = nik.isNotNull() & date_ok & birth.isNotNull() & (
            (F.dayofmonth(birth) != nday) | (F.month(birth) != month) | (F.year(birth) % 100 != yy))
        sex_mismatch = F.lit(False)
        if c.get("sex"):
            sex = F.col(c["sex"])
            sex_mismatch = nik.isNotNull() & date_ok & sex.isNotNull() & ((sex == "F") != female)
        if c.get("severity", "reject") == "reject":
            checks += [_check(bad_date, R.NIK_DATE_INVALID, fnik), _check(mismatch, R.NIK_BIRTH_MISMATCH, fnik),
                       _check(sex_mismatch, R.NIK_SEX_MISMATCH, fnik)]
        else:
            flags += [F.when(bad_date, F.lit(R.NIK_DATE_INVALID)), F.when(mismatch, F.lit(R.NIK_BIRTH_MISMATCH)),
                      F.when(sex_mismatch, F.lit(R.NIK_SEX_MISMATCH))]

    value_reasons = F.array_distinct(F.filter(F.array(*[c for c, _ in checks]), lambda x: x.isNotNull()))
    details = F.filter(F.array(*[d for _, d in checks]), lambda x: x.isNotNull())
    df = df.withColumn("reasons", F.when(F.col("row_error").isNotNull(), F.array(F.col("row_error")))
                       .otherwise(value_reasons))
    df = df.withColumn("details", F.when(F.col("row_error").isNotNull(), F.array(F.col("row_error")))
                       .otherwise(details))
    df = df.withColumn("flags", F.filter(F.array(*flags), lambda x: x.isNotNull()) if flags
                       else F.array().cast("array<string>"))

    if contract.unique:
        # A key seen twice in one file: the first occurrence stands, later ones go to quarantine.
        keys = [F.col(f"_raw_{contract.fields[contract.source_names.index(u)].name}") for u in contract.unique]
        clean = F.size("reasons") == 0
        w = Window.partitionBy("file_sha256", clean, *keys).orderBy("line_number")
        rank = F.row_number().over(w)
        df = df.withColumn("reasons", F.when(clean & (rank > 1), F.array(F.lit(R.DUPLICATE_KEY)))
                           .otherwise(F.col("reasons")))
        df = df.withColumn("details", F.when(F.col("reasons") == F.array(F.lit(R.DUPLICATE_KEY)),
                                             F.array(F.lit(f"{R.DUPLICATE_KEY}:{'+'.join(contract.unique)}")))
                           .otherwise(F.col("details")))
    return df.drop(*[c for c in df.columns if c.startswith(("_raw_", "_c_", "_ok_"))])
