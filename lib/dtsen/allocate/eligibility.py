"""Eligibility: one row per family and program, with the benefit and the reasons both ways.

A family is eligible for a program when it has a welfare score, its desil lies in the program's
range, no inconsistency flag excludes it, its key data are complete (where the program requires it)
and it has at least one of the units the program requires. Every check leaves a reason, in
Indonesian and English, whether it passed or failed ("desil 7 di atas rentang PKH 1-4" / "desil 7
is above PKH's 1-4"); `failed_id` / `failed_en` hold the failed ones only.
"""
from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from dtsen.allocate.programs import UNITS, Program, ProgramSet
from dtsen.columns import present

# Welfare categories, most severe first (the article's five): selection's second key.
CATEGORIES = ("Sangat Miskin", "Miskin", "Rentan Miskin", "Hampir Miskin", "Tidak Miskin")
UNIT_LABELS: dict[str, tuple[str, str]] = {
    "family": ("keluarga", "family"),
    "members": ("anggota keluarga", "family members"),
    "pregnant": ("ibu hamil", "pregnant members"),
    "children_0_6": ("anak usia 0-6", "children aged 0-6"),
    "enrolled_7_12": ("anak SD bersekolah", "enrolled primary-school children"),
    "enrolled_13_15": ("anak SMP bersekolah", "enrolled lower-secondary children"),
    "enrolled_16_18": ("anak SMA bersekolah", "enrolled upper-secondary children"),
    "elderly_70_plus": ("lansia 70+", "elderly members aged 70+"),
    "severe_disability": ("penyandang disabilitas berat", "members with a severe disability"),
}
COLUMNS = ["cycle", "family_id", "program", "province_code", "regency_code", "village_code", "members", "desil",
           "category", "welfare_rank", "eligible", "benefit_rp", "units_paid", "reasons_id", "reasons_en",
           "failed_id", "failed_en", "config_version"]


def _units(p: Program) -> tuple[Column, Column]:
    """(benefit in Rp, units paid), paying the dearest units first up to max_units.

    What is left for a unit is max_units less the units before it (never below 0): written with the
    running count of those units, not as the previous unit's "left - taken", which repeats the whole
    expression twice per unit. PKH's seven units made a plan of 2^7 copies, over Java's 64 KB per
    method: Spark compiled it, failed and fell back to interpreting it in every allocate run."""
    benefit, paid, before = F.lit(0).cast("long"), F.lit(0), F.lit(0)
    for unit, amount in p.benefit:
        count = F.expr(UNITS[unit]).cast("int")
        take = count if p.max_units is None else F.least(count, F.greatest(F.lit(p.max_units) - before, F.lit(0)))
        benefit = benefit + take.cast("long") * F.lit(amount)
        paid = paid + take
        before = before + count
    return benefit, paid


def _check(ok: Column, yes: tuple[Column, Column], no: tuple[Column, Column]) -> tuple[Column, Column, Column]:
    """(passed, reason id, reason en) of one check."""
    return ok, F.when(ok, yes[0]).otherwise(no[0]), F.when(ok, yes[1]).otherwise(no[1])


def _program_row(p: Program, excluded_id: Column, excluded_en: Column) -> Column:
    c, lit, key = F.col, F.lit, p.program
    desil = c("desil")
    desil_s = desil.cast("string")
    scored = c("welfare_rank").isNotNull()
    in_range = scored & desil.between(p.desil_lo, p.desil_hi)
    checks = [
        _check(scored, (lit(None), lit(None)),
               (lit("belum ada skor kesejahteraan untuk siklus ini"), lit("no welfare score for this cycle"))),
        _check(in_range | ~scored,
               (F.when(scored, F.format_string(f"desil %s dalam rentang {key} {p.desil_text}", desil_s)),
                F.when(scored, F.format_string(f"desil %s is within {key}'s {p.desil_text}", desil_s))),
               (F.format_string(f"desil %s %s rentang {key} {p.desil_text}", desil_s,
                                F.when(desil > p.desil_hi, lit("di atas")).otherwise(lit("di bawah"))),
                F.format_string(f"desil %s is %s {key}'s {p.desil_text}", desil_s,
                                F.when(desil > p.desil_hi, lit("above")).otherwise(lit("below"))))),
        _check(excluded_id.isNull(), (lit(None), lit(None)),
               (F.concat(lit("dikecualikan: "), excluded_id), F.concat(lit("excluded: "), excluded_en))),
    ]
    if p.require_complete_data:
        missing = F.array_join(c("missing_key_data"), ", ")
        checks.append(_check(c("data_complete"), (lit(None), lit(None)),
                             (F.concat(lit("data tidak lengkap: "), missing),
                              F.concat(lit("key data missing: "), missing))))
    if p.requires_any:
        have = [F.expr(UNITS[u]).cast("int") for u in p.requires_any]
        has_any = F.greatest(*have, lit(0)) > 0 if len(have) > 1 else have[0] > 0
        labels_id = ", ".join(UNIT_LABELS[u][0] for u in p.requires_any)
        labels_en = ", ".join(UNIT_LABELS[u][1] for u in p.requires_any)
        found_id = F.concat_ws(", ", *[F.when(h > 0, F.concat(h.cast("string"), lit(" " + UNIT_LABELS[u][0])))
                                       for u, h in zip(p.requires_any, have)])
        found_en = F.concat_ws(", ", *[F.when(h > 0, F.concat(h.cast("string"), lit(" " + UNIT_LABELS[u][1])))
                                       for u, h in zip(p.requires_any, have)])
        checks.append(_check(has_any,
                             (F.concat(lit(f"komponen {key}: "), found_id), F.concat(lit(f"{key} components: "),
                                                                                    found_en)),
                             (lit(f"tidak ada komponen {key} ({labels_id})"),
                              lit(f"no {key} component ({labels_en})"))))
    eligible = checks[0][0]
    for ok, _, _ in checks[1:]:
        eligible = eligible & ok
    benefit, paid = _units(p)

    return F.struct(
        lit(key).alias("program"), eligible.alias("eligible"),
        F.when(eligible, benefit).otherwise(lit(0).cast("long")).alias("benefit_rp"),
        F.when(eligible, paid).otherwise(lit(0)).alias("units_paid"),
        present(x[1] for x in checks).alias("reasons_id"), present(x[2] for x in checks).alias("reasons_en"),
        present(F.when(~x[0], x[1]) for x in checks).alias("failed_id"),
        present(F.when(~x[0], x[2]) for x in checks).alias("failed_en"))


def exclusions(flags: DataFrame, programs: ProgramSet) -> DataFrame:
    """Per family with an excluding flag: (family_id, excluded_id, excluded_en), the rules' texts joined."""
    texts = [(rule, t["id"], t["en"]) for rule, t in sorted(programs.exclusion_reasons.items())]
    spark = flags.sparkSession
    known = spark.createDataFrame(texts, "rule_id string, _id string, _en string") if texts else \
        spark.createDataFrame([], "rule_id string, _id string, _en string")
    ex = (flags.where(F.col("outcome") == "exclude").select("family_id", "rule_id").distinct()
          .join(F.broadcast(known), "rule_id", "left")
          .select("family_id", "rule_id", F.coalesce("_id", F.concat(F.lit("aturan "), "rule_id")).alias("_id"),
                  F.coalesce("_en", F.concat(F.lit("rule "), "rule_id")).alias("_en")))
    return ex.groupBy("family_id").agg(
        F.array_join(F.sort_array(F.collect_list("_id")), "; ").alias("excluded_id"),
        F.array_join(F.sort_array(F.collect_list("_en")), "; ").alias("excluded_en"))


def eligibility(profiles: DataFrame, scores: DataFrame, flags: DataFrame, programs: ProgramSet, *,
                cycle: str) -> DataFrame:
    """profiles: family_profiles of the cycle; scores: family_scores of the cycle (families without a
    score are not eligible anywhere); flags: profile_flags of the cycle."""
    base = (profiles.select("family_id", "province_code", "regency_code", "village_code", "members",
                            "pregnant_members", "children_0_6", "enrolled_7_12", "enrolled_13_15", "enrolled_16_18",
                            "elderly_70_plus", "severe_disability", "data_complete", "missing_key_data")
            .join(scores.select("family_id", "desil", "category", "welfare_rank"), "family_id", "left")
            .join(exclusions(flags, programs), "family_id", "left"))
    # One projection per program, not one array of every program's row to explode: all programs' checks
    # and reasons in one generated method passed Java's 64 KB limit, and Spark compiled it, failed and
    # fell back to interpreting it on every run. The branches share the joins' shuffles (reused).
    rows = reduce(DataFrame.unionByName, [base.select("*", _program_row(p, F.col("excluded_id"),
                                                                         F.col("excluded_en")).alias("_p"))
                                          for p in programs.programs])
    return (rows
            .select(F.lit(cycle).alias("cycle"), "family_id", "_p.program", "province_code", "regency_code",
                    "village_code", "members", "desil", "category", "welfare_rank", "_p.eligible", "_p.benefit_rp",
                    "_p.units_paid", "_p.reasons_id", "_p.reasons_en", "_p.failed_id", "_p.failed_en",
                    F.lit(programs.version).alias("config_version")))
