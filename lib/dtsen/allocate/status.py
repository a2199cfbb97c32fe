"""One status per family (and per unresolved record), with the reasons: what a citizen status
service shows.

Statuses (the article's four), in order of precedence for a family:
* Terdaftar sebagai Penerima - receives at least one program (the programs and benefits listed);
* Data Tidak Lengkap - key data are missing, so no program could consider the family;
* Terdaftar tapi Belum Menerima - registered, not receiving: waitlisted, or eligible for nothing
  (the reasons say which check failed for which program).
Tidak Terdaftar rows stand for agency records identity resolution could not attach to any resident:
one row per NIK token (or per record without one), never for a NIK that a resident carries.
"""
from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from dtsen.allocate.select import RECIPIENT

RECIPIENT_STATUS = ("Terdaftar sebagai Penerima", "Registered as a recipient", "recipient")
INCOMPLETE_STATUS = ("Data Tidak Lengkap", "Incomplete data", "incomplete")
REGISTERED_STATUS = ("Terdaftar tapi Belum Menerima", "Registered, not receiving", "registered")
UNREGISTERED_STATUS = ("Tidak Terdaftar", "Not registered", "not_registered")
STATUS_COLUMNS = ["cycle", "status_key", "family_id", "nik_token", "province_code", "regency_code", "village_code",
                  "status", "status_en", "status_code", "programs", "benefit_rp", "desil", "category",
                  "reasons_id", "reasons_en", "config_version"]


def _status(s: tuple[str, str, str]) -> list:
    return [F.lit(s[0]), F.lit(s[1]), F.lit(s[2])]


def family_status(profiles: DataFrame, elig: DataFrame, chosen: DataFrame, *, cycle: str,
                  config_version: str) -> DataFrame:
    """Exactly one row per family of the profiles. elig: eligibility rows; chosen: select() rows."""
    got = (chosen.groupBy("family_id").agg(
        F.sort_array(F.collect_list(F.when(F.col("outcome") == RECIPIENT, F.col("program")))).alias("programs"),
        F.sum(F.when(F.col("outcome") == RECIPIENT, F.col("benefit_rp")).otherwise(0)).cast("long")
        .alias("benefit_rp"),
        F.sort_array(F.collect_list("reason_id")).alias("_sel_id"),
        F.sort_array(F.collect_list("reason_en")).alias("_sel_en")))
    failed = elig.where(~F.col("eligible")).groupBy("family_id").agg(
        F.array_distinct(F.sort_array(F.flatten(F.collect_list("failed_id")))).alias("_fail_id"),
        F.array_distinct(F.sort_array(F.flatten(F.collect_list("failed_en")))).alias("_fail_en"))
    score = elig.groupBy("family_id").agg(F.max("desil").alias("desil"), F.max("category").alias("category"))
    empty = F.array().cast("array<string>")
    f = (profiles.select("family_id", "province_code", "regency_code", "village_code", "data_complete",
                         "missing_key_data")
         .join(got, "family_id", "left").join(failed, "family_id", "left").join(score, "family_id", "left"))
    receives = F.coalesce(F.size("programs"), F.lit(0)) > 0
    incomplete = ~F.col("data_complete")
    missing = F.array_join("missing_key_data", ", ")
    pick = [F.when(receives, a).when(incomplete, b).otherwise(c)
            for a, b, c in zip(_status(RECIPIENT_STATUS), _status(INCOMPLETE_STATUS), _status(REGISTERED_STATUS))]
    sel_id, sel_en = F.coalesce("_sel_id", empty), F.coalesce("_sel_en", empty)
    fail_id, fail_en = F.coalesce("_fail_id", empty), F.coalesce("_fail_en", empty)
    reasons_id = F.when(receives | ~incomplete, F.concat(sel_id, fail_id)).otherwise(F.array(
        F.concat(F.lit("data tidak lengkap: "), missing,
                 F.lit("; lengkapi melalui pendataan ulang atau usul/sanggah"))))
    reasons_en = F.when(receives | ~incomplete, F.concat(sel_en, fail_en)).otherwise(F.array(
        F.concat(F.lit("key data missing: "), missing, F.lit("; complete it by re-registration or a proposal"))))
    return f.select(
        F.lit(cycle).alias("cycle"), F.col("family_id").alias("status_key"), "family_id",
        F.lit(None).cast("string").alias("nik_token"), "province_code", "regency_code", "village_code",
        pick[0].alias("status"), pick[1].alias("status_en"), pick[2].alias("status_code"),
        F.coalesce("programs", empty).alias("programs"), F.coalesce("benefit_rp", F.lit(0)).cast("long")
        .alias("benefit_rp"), "desil", "category", reasons_id.alias("reasons_id"), reasons_en.alias("reasons_en"),
        F.lit(config_version).alias("config_version"))


def unresolved_status(unlinked: DataFrame, resident_niks: DataFrame, *, cycle: str,
                      config_version: str) -> DataFrame:
    """Tidak Terdaftar rows. unlinked: (source, record_key, nik_token, village_code, regency_code) of
    agency records with no resident; resident_niks: (nik_token) of the cycle's residents."""
    u = unlinked.join(resident_niks.where(F.col("nik_token").isNotNull()).distinct(), "nik_token", "left_anti")
    key = F.coalesce(F.concat(F.lit("nik|"), F.col("nik_token")),
                     F.concat(F.lit("record|"), F.col("source"), F.lit("|"), F.col("record_key")))
    g = u.withColumn("_k", key).groupBy("_k").agg(
        F.first("nik_token", ignorenulls=True).alias("nik_token"),
        F.min("village_code").alias("village_code"), F.min("regency_code").alias("regency_code"),
        F.sort_array(F.collect_set("source")).alias("_sources"))
    sources = F.array_join("_sources", ", ")
    empty = F.array().cast("array<string>")
    st = _status(UNREGISTERED_STATUS)
    return g.select(
        F.lit(cycle).alias("cycle"), F.concat(F.lit("U"), F.substring(F.sha2("_k", 256), 1, 16)).alias("status_key"),
        F.lit(None).cast("string").alias("family_id"), "nik_token",
        F.substring(F.coalesce("regency_code", "village_code"), 1, 2).alias("province_code"),
        F.coalesce("regency_code", F.substring("village_code", 1, 4)).alias("regency_code"), "village_code",
        st[0].alias("status"), st[1].alias("status_en"), st[2].alias("status_code"), empty.alias("programs"),
        F.lit(0).cast("long").alias("benefit_rp"), F.lit(None).cast("int").alias("desil"),
        F.lit(None).cast("string").alias("category"),
        F.array(F.concat(F.lit("tercatat di "), sources, F.lit(" tetapi tidak ditemukan di data kependudukan; "
                                                             "daftarkan melalui desa/kelurahan"))).alias("reasons_id"),
        F.array(F.concat(F.lit("recorded by "), sources, F.lit(" but not found in the civil registry; register "
                                                             "through the village office"))).alias("reasons_en"),
        F.lit(config_version).alias("config_version"))
