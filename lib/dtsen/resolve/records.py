"""Linkage records: one row per silver record, with the comparison fields identity resolution needs.

Built in memory inside the resolve job only: names and birth dates come out of the sealed PII table
here and never leave this job in clear (the outputs carry tokens and ids). Columns:

record_key, source, nik_token, kk_token, name (without titles), name_key_token, name_phonetic_token,
first_key (first word of the name key, for term-frequency adjustment: MUHAMMAD, SITI, NUR ...),
birth_date ('yyyy-MM-dd'), birth_date_any_order (the year with day and month in ascending order: a
blocking key that a day/month swap leaves unchanged), birth_year, sex, birth_place, education,
marital_status, village, district, regency, province, family_head (the record stands for the head of
the family its KK names: survey and consumption records). Education and marital status are the
civil registry's own (NULL for agency records): two registrations of one person repeat them, two
namesakes born the same day mostly do not.
"""
from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen import standardize as S
from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.privacy import Keys

COLUMNS = ["record_key", "source", "nik_token", "kk_token", "name", "name_key_token", "name_phonetic_token",
           "first_key", "birth_date", "birth_date_any_order", "birth_year", "sex", "birth_place", "education",
           "marital_status", "village", "district", "regency", "province", "family_head"]
_REGION_DIGITS = {"village_code": 10, "district_code": 6, "regency_code": 4}


def _opened(spark: SparkSession, cat: Catalog, keys: Keys, cycle: str, source: str) -> DataFrame:
    return (cat.read(spark, "pii", cycle).where(F.col("source") == source)
            .select("record_key", keys.unseal(F.col("pii_enc")).alias("_pii")))


def _or_null(df: DataFrame, name: str, kind: str = "string") -> Column:
    return (F.col(name) if name in df.columns else F.lit(None).cast(kind)).alias(name)


def _regions(df: DataFrame, region: str | None) -> list[Column]:
    digits = _REGION_DIGITS.get(region or "", 0)
    code = F.col(region) if region else F.lit(None).cast("string")
    return [(code if digits >= 10 else F.lit(None).cast("string")).alias("village"),
            (F.substring(code, 1, 6) if digits >= 6 else F.lit(None).cast("string")).alias("district"),
            (F.substring(code, 1, 4) if digits >= 4 else F.lit(None).cast("string")).alias("regency"),
            (F.substring(code, 1, 2) if digits >= 4 else F.lit(None).cast("string")).alias("province")]


def any_order(birth_date: Column) -> Column:
    """'1986-09-07' and '1986-07-09' -> '1986-07-09': the year, then the smaller and the larger of
    month and day."""
    md = F.substring(birth_date, 6, 2)
    dd = F.substring(birth_date, 9, 2)
    return F.when(birth_date.isNotNull(), F.concat_ws("-", F.substring(birth_date, 1, 4), F.least(md, dd),
                                                      F.greatest(md, dd)))


def linkage_records(spark: SparkSession, cat: Catalog, keys: Keys, cycle: str, table: str,
                    region: str | None, family_head: bool = False) -> DataFrame:
    """Linkage records of one silver table (silver_<table>)."""
    silver = cat.read(spark, f"silver_{table}", cycle)
    sources = [r["source"] for r in silver.select("source").distinct().collect()]
    if len(sources) > 1:
        raise ConfigError(f"silver_{table} holds several sources ({sources}); resolve expects one per table")
    df = silver.join(_opened(spark, cat, keys, cycle, sources[0]), "record_key", "left") if sources else \
        silver.withColumn("_pii", F.lit(None).cast("map<string,string>"))
    def name_fields(values: DataFrame) -> DataFrame:
        key = S.name_key(F.col("__v"))
        return values.select("__v", S.strip_titles(F.col("__v")).alias("_name"),
                             F.when(key.isNotNull(), F.split(key, " ")[0]).alias("first_key"))
    df = S.per_value(df.withColumn("_raw_name", df["_pii"]["name"]), "_raw_name", name_fields)
    return df.select(
        "record_key", "source", _or_null(df, "nik_token"), _or_null(df, "kk_token"),
        F.col("_name").alias("name"), _or_null(df, "name_key_token"), _or_null(df, "name_phonetic_token"),
        "first_key",
        df["_pii"]["birth_date"].alias("birth_date"),
        any_order(df["_pii"]["birth_date"]).alias("birth_date_any_order"),
        _or_null(df, "birth_year", "int"), _or_null(df, "sex"), df["_pii"]["birth_place"].alias("birth_place"),
        _or_null(df, "education"), _or_null(df, "marital_status"), *_regions(df, region),
        F.lit(family_head).alias("family_head"))


def persons(spark: SparkSession, cat: Catalog, keys: Keys, cycle: str) -> DataFrame:
    return linkage_records(spark, cat, keys, cycle, "person", "village_code")


def agency_records(spark: SparkSession, conf: Config, cat: Catalog, keys: Keys, cycle: str) -> DataFrame:
    """Every configured agency table's linkage records, in one frame."""
    out = None
    for table, spec in conf.section("resolve.agencies").items():
        if not cat.exists(spark, f"silver_{table}"):
            continue
        spec = spec or {}
        part = linkage_records(spark, cat, keys, cycle, table, spec.get("region"), bool(spec.get("family_head")))
        out = part if out is None else out.unionByName(part)
    if out is None:
        raise ConfigError(f"no agency silver tables for {cycle}: run `dtsen ingest --cycle {cycle}` first")
    return out
