"""Quotas per region and the selection of recipients within each regency.

Quotas: each program's national quota (families) or budget (Rp), scaled to the registry when conf
says so, goes to provinces and then regencies by largest remainder over the regions' eligible
persons (or families). Region totals are a few hundred rows: collected, allocated in Python
(quota.py), returned as a small frame.

Selection, per program in priority order: the regency's eligible families are ranked (welfare_rank
ascending = lowest predicted welfare first, then category severity, then family_id); families the
stacking limits allow take the quota from the top (quota: the first N; budget: while the running
benefit fits the regency's budget); every other eligible family is waitlisted with its rank (those
at a stacking limit after the rest). A family's programs and benefit so far carry to the next
program, so a slot a family cannot take goes to the next family in line.
"""
from __future__ import annotations

from fractions import Fraction

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from dtsen.allocate.eligibility import CATEGORIES
from dtsen.allocate.programs import Program, ProgramSet
from dtsen.allocate.quota import allocate_hierarchy

QUOTA_COLUMNS = ["cycle", "program", "level", "province_code", "regency_code", "eligible_families",
                 "eligible_persons", "quota_families", "budget_rp", "config_version"]
RECIPIENT_COLUMNS = ["cycle", "program", "family_id", "province_code", "regency_code", "village_code", "members",
                     "desil", "category", "welfare_rank", "benefit_rp", "outcome", "rank", "recipient_rank",
                     "waitlist_rank", "reason_id", "reason_en", "config_version"]
RECIPIENT, WAITLISTED, NOT_ELIGIBLE = "recipient", "waitlisted", "not_eligible"


def national_amount(p: Program, programs: ProgramSet, registry_families: int) -> int:
    """The program's quota (families) or budget (Rp) for this registry, rounded half up."""
    amount = p.quota_families if p.quota_families is not None else p.budget_rp
    if programs.scale == "none":
        return int(amount)
    exact = Fraction(int(amount) * registry_families, programs.reference_families)
    return int(exact + Fraction(1, 2))


def quotas(elig: DataFrame, programs: ProgramSet, *, cycle: str) -> DataFrame:
    """National, province and regency quota rows for every program (regions without eligible
    families are listed with 0)."""
    spark = elig.sparkSession
    regions = elig.groupBy("program", "regency_code").agg(
        F.sum(F.col("eligible").cast("int")).alias("families"),
        F.sum(F.when(F.col("eligible"), F.col("members")).otherwise(0)).alias("persons")).collect()
    registry_families = elig.select("family_id").distinct().count()
    rows = []
    for p in programs.programs:
        mine = {r["regency_code"]: r for r in regions if r["program"] == p.program}
        key = "families" if p.weight == "eligible_families" else "persons"
        weights = {code: int(r[key] or 0) for code, r in sorted(mine.items()) if code is not None}
        total = national_amount(p, programs, registry_families)
        by_prov, by_reg = allocate_hierarchy(total, weights, floor_per_regency=p.floor_per_regency)

        def row(level: str, prov: str | None, reg: str | None, fam: int, pers: int, q: int, p=p):
            is_budget = p.budget_rp is not None
            return (cycle, p.program, level, prov, reg, fam, pers, None if is_budget else q, q if is_budget else None,
                    programs.version)

        rows.append(row("national", None, None, sum(int(r["families"] or 0) for r in mine.values()),
                        sum(int(r["persons"] or 0) for r in mine.values()), sum(by_reg.values())
                        if weights else 0))
        for prov, q in sorted(by_prov.items()):
            inside = [r for c, r in mine.items() if c and c[:2] == prov]
            rows.append(row("province", prov, None, sum(int(r["families"] or 0) for r in inside),
                            sum(int(r["persons"] or 0) for r in inside), q))
        for reg, q in sorted(by_reg.items()):
            r = mine[reg]
            rows.append(row("regency", reg[:2], reg, int(r["families"] or 0), int(r["persons"] or 0), q))
    schema = ("cycle string, program string, level string, province_code string, regency_code string, "
              "eligible_families long, eligible_persons long, quota_families long, budget_rp long, "
              "config_version string")
    return spark.createDataFrame(rows, schema)


def _order() -> list:
    severity = F.array_position(F.array(*[F.lit(c) for c in CATEGORIES]), F.col("category"))
    return [F.col("welfare_rank").asc_nulls_last(), severity.asc_nulls_last(), F.col("family_id")]


def select(elig: DataFrame, quota_rows: DataFrame, programs: ProgramSet, *, cycle: str) -> DataFrame:
    """Recipients and waitlists: one row per eligible family and program (outcome recipient or
    waitlisted); families not eligible have no row here (the eligibility table holds them)."""
    spark = elig.sparkSession
    eligible = elig.where(F.col("eligible")).persist()
    regency_q = quota_rows.where(F.col("level") == "regency").select(
        "program", "regency_code", "quota_families", F.col("budget_rp").alias("_budget"))
    state = spark.createDataFrame([], "family_id string, _n int, _b long")
    parts = []
    for p in programs.programs:
        cand = (eligible.where(F.col("program") == p.program)
                .join(F.broadcast(regency_q.where(F.col("program") == p.program).drop("program")), "regency_code",
                      "left")
                .join(state, "family_id", "left"))
        allowed = ((F.coalesce("_n", F.lit(0)) + 1 <= programs.max_programs)
                   & (F.coalesce("_b", F.lit(0)) + F.col("benefit_rp") <= programs.max_benefit_rp))
        by_reg = Window.partitionBy("regency_code")
        cand = (cand.withColumn("_allowed", allowed)
                .withColumn("rank", F.row_number().over(by_reg.orderBy(*_order())))
                .withColumn("_arank", F.row_number().over(Window.partitionBy("regency_code", "_allowed")
                                                          .orderBy(*_order()))))
        if p.budget_rp is not None:
            spent = F.sum("benefit_rp").over(Window.partitionBy("regency_code", "_allowed").orderBy(*_order())
                                             .rowsBetween(Window.unboundedPreceding, Window.currentRow))
            chosen = F.col("_allowed") & (spent <= F.coalesce("_budget", F.lit(0)))
        else:
            chosen = F.col("_allowed") & (F.col("_arank") <= F.coalesce("quota_families", F.lit(0)))
        cand = cand.withColumn("_chosen", chosen)
        wait_order = [F.col("_allowed").desc()] + _order()
        cand = (cand.withColumn("recipient_rank", F.when(F.col("_chosen"), F.col("_arank")))
                .withColumn("waitlist_rank", F.when(~F.col("_chosen"), F.row_number().over(
                    Window.partitionBy("regency_code", "_chosen").orderBy(*wait_order))))
                .withColumn("outcome", F.when(F.col("_chosen"), F.lit(RECIPIENT)).otherwise(F.lit(WAITLISTED))))
        limit_id = F.lit(f"batas penerimaan bantuan tercapai (maks {programs.max_programs} program / "
                         f"Rp {programs.max_benefit_rp:,} per siklus)")
        limit_en = F.lit(f"stacking limit reached (at most {programs.max_programs} programs / "
                         f"Rp {programs.max_benefit_rp:,} per cycle)")
        quota_word = ("anggaran", "budget") if p.budget_rp is not None else ("kuota", "quota")
        cand = cand.withColumns({
            "reason_id": F.when(F.col("_chosen"), F.format_string(f"penerima {p.program}, urutan %d dalam kuota "
                                                                   "kabupaten/kota", F.col("recipient_rank")))
            .when(~F.col("_allowed"), limit_id)
            .otherwise(F.format_string(f"di luar {quota_word[0]} {p.program}: daftar tunggu urutan %d",
                                       F.col("waitlist_rank"))),
            "reason_en": F.when(F.col("_chosen"), F.format_string(f"{p.program} recipient, rank %d within the "
                                                                   "regency's quota", F.col("recipient_rank")))
            .when(~F.col("_allowed"), limit_en)
            .otherwise(F.format_string(f"outside the {p.program} {quota_word[1]}: waitlist rank %d",
                                       F.col("waitlist_rank")))})
        part = cand.select(F.lit(cycle).alias("cycle"), "program", "family_id", "province_code", "regency_code",
                           "village_code", "members", "desil", "category", "welfare_rank", "benefit_rp", "outcome",
                           F.col("rank").cast("int"), F.col("recipient_rank").cast("int"),
                           F.col("waitlist_rank").cast("int"), "reason_id", "reason_en",
                           F.lit(programs.version).alias("config_version")).localCheckpoint()
        parts.append(part)
        got = part.where(F.col("outcome") == RECIPIENT).select("family_id", F.lit(1).alias("_n"),
                                                                F.col("benefit_rp").alias("_b"))
        state = (state.unionByName(got).groupBy("family_id")
                 .agg(F.sum("_n").cast("int").alias("_n"), F.sum("_b").cast("long").alias("_b")).localCheckpoint())
    eligible.unpersist()
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out
