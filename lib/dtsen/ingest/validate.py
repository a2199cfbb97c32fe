"""Validation of bronze rows against their data contract, as Spark built-in expressions.

`validate` adds typed canonical columns, `reasons` (codes that send a row to quarantine),
`details` (code:field, for people) and `flags` (kept rows with a warning, e.g. a NIK whose
embedded birth date disagrees with an agency's record: a linkage signal, not a reason to drop).
"""
from __future__ import annotations

from collections.abc import Iterable
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


def raw_value(i: int) -> Column:
    """Field i of a bronze row as validation reads it: trimmed, blank -> NULL."""
    v = F.trim(F.get(F.col("values"), i))
    return F.when(v == "", F.lit(None)).otherwise(v)


def _digits(c: Column) -> Column:
    d = F.regexp_replace(c, r"[^0-9]", "")
    return F.when(d == "", F.lit(None)).otherwise(d)


def check(bronze: DataFrame, contract: Contract, regions: DataFrame, *, as_of: date) -> DataFrame:
    """Typed columns + reasons/details/flags for every bronze row of one source (its parsed `values`
    array dropped), and the raw unique-key values as `_key<i>` for `mark_duplicates`.

    Built so that Spark copies few wide rows: the region joins run on the narrow bronze rows, then one
    select takes the raw text of every field, one adds the typed values, and one computes every check
    from those materialized columns straight into the labels (an expression used by several checks is
    computed once per row). Joining after the wide selects copied every row's ~150 columns per join,
    and four selects that each added columns copied them all again: the 1M population's regsosek took
    36-41 s to validate in a fresh JVM, now 26-31 s; its registry 42-46 s, now 32-36 s."""
    fields = contract.fields
    # 1. existence of region codes: broadcast joins against the Kemendagri list, on the narrow rows
    ref = F.broadcast(regions)
    df, coded = bronze, []
    for i, f in enumerate(fields):
        if f.type in ("nik", "kk", "region"):
            level = "district" if f.type in ("nik", "kk") else f.level
            raw = raw_value(i)
            if f.type in ("nik", "kk"):      # a well-formed NIK / KK starts with its district's code
                code = F.when(raw.rlike(r"^[0-9]{16}$"), F.substring(raw, 1, 6))
            else:
                digits = _digits(raw)
                code = F.when(F.length(digits) == REGION_DIGITS[f.level], digits)
            known = ref.where(F.col("level") == level).select(F.col("code").alias(f"_k_{f.name}"),
                                                              F.lit(True).alias(f"_ok_{f.name}"))
            df = df.withColumn(f"_c_{f.name}", code)
            df = df.join(known, df[f"_c_{f.name}"] == known[f"_k_{f.name}"], "left").drop(f"_k_{f.name}")
            coded.append(f)
    # 2. raw text per field (trimmed, blank -> NULL); the parsed array is not needed after this
    lineage = [c for c in bronze.columns if c != "values"]
    df = df.select(*lineage, *[F.col(f"_{p}_{f.name}") for f in coded for p in ("c", "ok")],
                   *[raw_value(i).alias(f"_raw_{f.name}") for i, f in enumerate(fields)])
    # 3. typed canonical values
    typed: dict[str, Column] = {}
    for f in fields:
        raw = F.col(f"_raw_{f.name}")
        if f.type in ("nik", "kk"):
            typed[f.name] = F.when(F.col(f"_c_{f.name}").isNotNull(), raw)
        elif f.type == "date":
            typed[f.name] = F.try_to_date(raw, f.format)
        elif f.type == "enum":
            mapping = F.create_map(*[x for k, v in f.values.items() for x in (F.lit(k.upper()), F.lit(v))])
            typed[f.name] = F.try_element_at(mapping, F.upper(raw))
        elif f.type in ("int", "decimal"):
            text = F.regexp_replace(raw, ",", ".") if f.decimal_comma else raw
            d = text.try_cast("double")
            ok = ~F.isnan(d) & (F.abs(d) < 1e18)          # not 'NaN' / 'Infinity' / absurd sizes
            typed[f.name] = F.when(ok & (d == F.floor(d)), d.cast("long")) if f.type == "int" else F.when(ok, d)
        elif f.type == "region":
            typed[f.name] = F.col(f"_c_{f.name}")
        else:   # id, code, name, text, address: kept as text; standardization comes later
            typed[f.name] = raw
    df = df.select("*", *[v.alias(k) for k, v in typed.items()])
    # 4. checks, each a condition on the raw and typed values, as 'CODE:field' labels
    checks: list[tuple[str, Field, Column]] = []
    for f in fields:
        raw, val = F.col(f"_raw_{f.name}"), F.col(f.name)
        if f.required:
            checks.append((R.REQUIRED_MISSING, f, raw.isNull()))
        if f.type in ("nik", "kk"):
            fmt_code, region_code = (R.NIK_FORMAT, R.NIK_REGION_UNKNOWN) if f.type == "nik" else \
                (R.KK_FORMAT, R.KK_REGION_UNKNOWN)
            well_formed = F.col(f"_c_{f.name}").isNotNull()
            checks.append((fmt_code, f, raw.isNotNull() & ~well_formed))
            checks.append((region_code, f, well_formed & F.col(f"_ok_{f.name}").isNull()))
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
            # the code is kept only when its digits have the level's length
            checks.append((R.REGION_FORMAT, f, raw.isNotNull() & val.isNull()))
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

    # details 'CODE:field' in check order; reasons the distinct codes in the order details first name
    # them. A row the reader could not split has its reader's code only.
    row_error = F.col("row_error")
    details = F.when(row_error.isNotNull(), F.array(row_error)).otherwise(
        _labels_unfused((cond, f"{code}:{f.source_name}") for code, f, cond in checks))
    reasons = F.array_distinct(F.transform(F.col("details"), lambda d: F.substring_index(d, ":", 1)))
    keys = [F.col(f"_raw_{fields[contract.source_names.index(u)].name}").alias(f"_key{i}")
            for i, u in enumerate(contract.unique)]
    checked = df.select(*lineage, *typed, details.alias("details"), _labels_unfused(flags).alias("flags"), *keys)
    names = checked.columns
    after = names.index("details") + 1
    return checked.select(*names[:after], reasons.alias("reasons"), *names[after:])


def _labels_unfused(pairs: Iterable[tuple[Column, str]]) -> Column:
    """The labels whose condition is true, in order, as `labels_where`, but built with `filter`: a
    higher-order function keeps the projection holding it out of whole-stage generated code
    (dtsen.columns), which validation wants. Fused, a contract's typed columns and checks made one
    method of up to 21 KB of bytecode (the registry's) that HotSpot's C1 failed to compile ("out of
    virtual registers") whenever it was picked for it, and ran interpreted: the registry's validation
    took 35 s in one run and 16 s in the next. Unfused, Spark splits the projection into small methods."""
    found = [F.when(cond, F.lit(label)) for cond, label in pairs]
    return F.filter(F.array(*found), lambda x: x.isNotNull()) if found else F.array().cast("array<string>")


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
