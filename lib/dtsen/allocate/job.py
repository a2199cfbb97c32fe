"""`dtsen allocate`: eligibility, quotas, recipients and waitlists, one status per family.

1. Extract: the cycle's family profiles, inconsistency flags and welfare scores (family_scores,
   from `dtsen score`), and the agency records identity resolution left unlinked.
2. Eligibility (eligibility.py) per family and program; quotas (select.quotas) per region;
   selection (select.select) per regency under the stacking limits; status (status.py).
3. Reconcile: per program, families in = recipients + waitlisted + not eligible, exactly; a
   mismatch raises ReconciliationError (the CLI exits 3) before anything is written.
4. Load: eligibility, quotas, recipients, family_status, each replacing exactly this cycle.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.allocate import eligibility as E
from dtsen.allocate import select as S
from dtsen.allocate import status as T
from dtsen.allocate.programs import ProgramSet, load_programs
from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.cycles import parse_cycle

log = logging.getLogger("dtsen.allocate")
_REGION_DIGITS = {"village_code": 10, "district_code": 6, "regency_code": 4}


class ReconciliationError(RuntimeError):
    """Families in != recipients + waitlisted + not eligible for some program: nothing is written."""


@dataclass
class Allocation:
    eligibility: DataFrame
    quotas: DataFrame
    recipients: DataFrame
    status: DataFrame


def _need(spark: SparkSession, cat: Catalog, table: str, cycle: str, hint: str) -> DataFrame:
    if not cat.exists(spark, table) or cat.read(spark, table, cycle).limit(1).count() == 0:
        raise ConfigError(f"no {table} for {cycle}: run `{hint} --cycle {cycle}` first")
    return cat.read(spark, table, cycle)


def unlinked_records(spark: SparkSession, conf: Config, cat: Catalog, cycle: str) -> DataFrame:
    """Agency records of the cycle with no resident: (source, record_key, nik_token, village_code,
    regency_code)."""
    links = cat.read(spark, "resolve_links", cycle).select("record_key", "source")
    out = None
    for table, spec in conf.section("resolve.agencies").items():
        if not cat.exists(spark, f"silver_{table}"):
            continue
        silver = cat.read(spark, f"silver_{table}", cycle)
        region = (spec or {}).get("region")

        digits = _REGION_DIGITS.get(region or "", 0) if region in silver.columns else 0

        def code(width: int, region=region, digits=digits):
            return F.substring(region, 1, width) if digits >= width else F.lit(None).cast("string")

        nik = F.col("nik_token") if "nik_token" in silver.columns else F.lit(None).cast("string")
        part = silver.select("source", "record_key", nik.alias("nik_token"), code(10).alias("village_code"),
                             code(4).alias("regency_code"))
        part = part.join(links, ["record_key", "source"], "left_anti")
        out = part if out is None else out.unionByName(part)
    if out is None:
        return spark.createDataFrame([], "source string, record_key string, nik_token string, village_code string, "
                                         "regency_code string")
    return out


def compute(spark: SparkSession, conf: Config, cat: Catalog, programs: ProgramSet, cycle: str) -> Allocation:
    """Everything of one cycle, nothing written (simulate calls this with changed programs)."""
    profiles = _need(spark, cat, "family_profiles", cycle, "dtsen profile")
    scores = _need(spark, cat, "family_scores", cycle, "dtsen score")
    flags = cat.read(spark, "profile_flags", cycle)
    elig = E.eligibility(profiles, scores, flags, programs, cycle=cycle).select(*E.COLUMNS).localCheckpoint()
    quota_rows = S.quotas(elig, programs, cycle=cycle).select(*S.QUOTA_COLUMNS)
    chosen = S.select(elig, quota_rows, programs, cycle=cycle).select(*S.RECIPIENT_COLUMNS).localCheckpoint()
    status = T.family_status(profiles, elig, chosen, cycle=cycle, config_version=programs.version)
    return Allocation(elig, quota_rows, chosen, status)


def reconcile(a: Allocation, families: int, programs: ProgramSet) -> dict[str, dict[str, int]]:
    """Per program: families = recipients + waitlisted + not eligible, and no regency over its quota."""
    e = {r["program"]: r.asDict() for r in a.eligibility.groupBy("program").agg(
        F.count("*").alias("rows"), F.countDistinct("family_id").alias("families"),
        F.sum((~F.col("eligible")).cast("int")).alias("not_eligible"),
        F.sum(F.col("eligible").cast("int")).alias("eligible")).collect()}
    s = {r["program"]: r.asDict() for r in a.recipients.groupBy("program").agg(
        F.sum((F.col("outcome") == S.RECIPIENT).cast("int")).alias("recipients"),
        F.sum((F.col("outcome") == S.WAITLISTED).cast("int")).alias("waitlisted"),
        F.sum(F.when(F.col("outcome") == S.RECIPIENT, F.col("benefit_rp")).otherwise(0)).alias("benefit_rp"))
        .collect()}
    over = (a.recipients.where(F.col("outcome") == S.RECIPIENT).groupBy("program", "regency_code")
            .agg(F.count("*").alias("n"), F.sum("benefit_rp").alias("rp"))
            .join(a.quotas.where(F.col("level") == "regency"), ["program", "regency_code"])
            .where((F.col("n") > F.coalesce("quota_families", F.lit(1 << 62)))
                   | (F.col("rp") > F.coalesce("budget_rp", F.lit(1 << 62)))).count())
    out, problems = {}, []
    for p in programs.ids:
        ep, sp = e.get(p, {}), s.get(p, {})
        row = {"families": families, "recipients": int(sp.get("recipients") or 0),
               "waitlisted": int(sp.get("waitlisted") or 0), "not_eligible": int(ep.get("not_eligible") or 0),
               "benefit_rp": int(sp.get("benefit_rp") or 0)}
        if not (ep.get("rows") == ep.get("families") == families
                == row["recipients"] + row["waitlisted"] + row["not_eligible"]):
            problems.append(f"{p}: {families} families, {ep.get('rows')} eligibility rows, but {row['recipients']} "
                            f"recipients + {row['waitlisted']} waitlisted + {row['not_eligible']} not eligible")
        out[p] = row
    if over:
        problems.append(f"{over} program/regency pairs have more recipients than their quota or budget")
    if problems:
        raise ReconciliationError("allocation does not reconcile: " + "; ".join(problems))
    return out


def _summary(cycle: str, programs: ProgramSet, families: int, counts: dict, status: DataFrame,
             started: float) -> dict:
    by_status = {r["status"]: int(r["count"]) for r in status.groupBy("status").count().collect()}
    return {"cycle": cycle, "config_version": programs.version, "families": families, "programs": counts,
            "status": dict(sorted(by_status.items())), "wall_seconds": round(time.time() - started, 1)}


def allocated(spark: SparkSession, conf: Config, *, cycle: str) -> dict:
    """The summary of the allocation already in the lake for the cycle (what `allocate` wrote),
    reconciled again; stops when it is missing or was made with another version of the programs."""
    started = time.time()
    programs = load_programs(conf, cycle)
    cat = Catalog(conf)
    hint = "dtsen allocate"
    elig = _need(spark, cat, "eligibility", cycle, hint)
    versions = sorted(r["config_version"] for r in elig.select("config_version").distinct().collect())
    if versions != [programs.version]:
        raise ConfigError(f"the allocation of {cycle} in the lake was made with programs {', '.join(versions)}, "
                          f"conf now has {programs.version}: run `dtsen allocate --cycle {cycle}` (or publish "
                          "without --allocated) first")
    status = _need(spark, cat, "family_status", cycle, hint)
    a = Allocation(elig, _need(spark, cat, "quotas", cycle, hint), _need(spark, cat, "recipients", cycle, hint),
                   status.where(F.col("family_id").isNotNull()))
    families = a.status.count()
    return _summary(cycle, programs, families, reconcile(a, families, programs), status, started)


def allocate(spark: SparkSession, conf: Config, *, cycle: str) -> dict:
    started = time.time()
    parse_cycle(cycle)
    programs = load_programs(conf, cycle)            # configuration first: a bad catalog stops before work
    cat = Catalog(conf)
    a = compute(spark, conf, cat, programs, cycle)
    a.status = a.status.localCheckpoint()            # counted, reconciled and written: compute it once
    families = a.status.count()
    counts = reconcile(a, families, programs)
    residents = cat.read(spark, "residents", cycle).select("nik_token")
    unresolved = T.unresolved_status(unlinked_records(spark, conf, cat, cycle), residents, cycle=cycle,
                                     config_version=programs.version)
    status = a.status.unionByName(unresolved).select(*T.STATUS_COLUMNS)
    cat.write(a.eligibility, "eligibility", cycle=cycle)
    cat.write(a.quotas, "quotas", cycle=cycle)
    cat.write(a.recipients, "recipients", cycle=cycle)
    cat.write(status, "family_status", cycle=cycle)
    summary = _summary(cycle, programs, families, counts, cat.read(spark, "family_status", cycle), started)
    log.info("allocated %s (programs %s): %s families; %s", cycle, programs.version, families,
             ", ".join(f"{p} {c['recipients']} recipients / {c['waitlisted']} waitlisted" for p, c in counts.items()))
    return summary
