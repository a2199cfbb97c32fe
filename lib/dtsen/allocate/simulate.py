"""`dtsen simulate`: what a directorate's change (decile range, quota or budget of a program) would
do, against the cycle's configured allocation, without writing anything.

For each program: recipients (families, persons), coverage (share of all persons covered), and
against the consumption survey labels (silver_consumption, measured per-capita consumption, linked to
families by identity resolution; "poor" = below programs.poverty_line), person-weighted:
* leakage = share of the labelled recipients' persons who are not poor (inclusion error, World Bank
  definition: of the selected);
* undercoverage = share of the labelled poor persons not selected (exclusion error).
Per province: recipients and undercoverage of the changed programs, before and after.
"""
from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.allocate.job import compute
from dtsen.allocate.programs import load_programs
from dtsen.allocate.select import RECIPIENT
from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError


def labels(spark: SparkSession, cat: Catalog, cycle: str, poverty_line: float) -> DataFrame:
    """(family_id, poor) for families with a linked consumption-survey record (one per family: the
    smallest record key)."""
    if not cat.exists(spark, "silver_consumption"):
        raise ConfigError("no silver_consumption table: simulate needs the consumption survey (run `dtsen ingest`)")
    links = cat.read(spark, "resolve_links", cycle).where(F.col("family_id").isNotNull()).select("record_key",
                                                                                                  "family_id")
    cons = cat.read(spark, "silver_consumption", cycle).select("record_key", "consumption_per_capita")
    return (cons.join(links, "record_key").groupBy("family_id")
            .agg(F.min_by("consumption_per_capita", "record_key").alias("pcc"))
            .select("family_id", (F.col("pcc") < poverty_line).alias("poor")))


def measure(elig: DataFrame, chosen: DataFrame, lab: DataFrame, persons_total: int) -> dict[str, dict]:
    got = chosen.where(F.col("outcome") == RECIPIENT).select("program", "family_id", "members", "province_code")
    fams = elig.select("program", "family_id", "members", "province_code")
    t = (fams.join(got.select("program", "family_id", F.lit(True).alias("_got")), ["program", "family_id"], "left")
         .join(lab, "family_id", "left"))
    m, got_ = F.col("members"), F.coalesce("_got", F.lit(False))

    def s(cond):
        return F.sum(F.when(cond, m).otherwise(0))

    aggs = [F.sum(got_.cast("int")).alias("recipient_families"), s(got_).alias("recipient_persons"),
            s(got_ & F.col("poor").isNotNull()).alias("labelled_recipient_persons"),
            s(got_ & (F.col("poor") == F.lit(False))).alias("nonpoor_recipient_persons"),
            s(F.col("poor") == F.lit(True)).alias("poor_persons"),
            s((F.col("poor") == F.lit(True)) & ~got_).alias("poor_missed_persons")]

    def figures(r) -> dict:
        d = {k: int(r[k] or 0) for k in ("recipient_families", "recipient_persons", "labelled_recipient_persons",
                                          "poor_persons")}
        d["coverage"] = round(d["recipient_persons"] / persons_total, 4) if persons_total else None
        d["leakage"] = (round(int(r["nonpoor_recipient_persons"] or 0) / d["labelled_recipient_persons"], 4)
                        if d["labelled_recipient_persons"] else None)
        d["undercoverage"] = (round(int(r["poor_missed_persons"] or 0) / d["poor_persons"], 4)
                              if d["poor_persons"] else None)
        return d

    out = {r["program"]: figures(r) for r in t.groupBy("program").agg(*aggs).collect()}
    for r in t.groupBy("program", "province_code").agg(*aggs).collect():
        out[r["program"]].setdefault("provinces", {})[r["province_code"]] = figures(r)
    for v in out.values():
        v["provinces"] = dict(sorted(v.get("provinces", {}).items()))
    return out


def simulate(spark: SparkSession, conf: Config, *, cycle: str, changes: dict[str, dict]) -> dict:
    """changes: program -> catalog keys to change, e.g. {"PKH": {"desil": [1, 3], "quota": {"families": 9e6}}}."""
    cat = Catalog(conf)
    base_programs = load_programs(conf, cycle)
    what_if = load_programs(conf, cycle, changes)
    persons = int(cat.read(spark, "family_profiles", cycle).agg(F.sum("members")).first()[0] or 0)
    lab = labels(spark, cat, cycle, base_programs.poverty_line).persist()
    out = {"cycle": cycle, "config_version": base_programs.version, "changes": changes,
           "poverty_line": base_programs.poverty_line, "labelled_families": lab.count(), "persons": persons}
    for name, programs in (("baseline", base_programs), ("scenario", what_if)):
        a = compute(spark, conf, cat, programs, cycle)
        out[name] = measure(a.eligibility, a.recipients, lab, persons)
    lab.unpersist()
    out["delta"] = {p: {k: (None if out["baseline"][p][k] is None or out["scenario"][p][k] is None
                            else round(out["scenario"][p][k] - out["baseline"][p][k], 4))
                        for k in ("recipient_families", "recipient_persons", "coverage", "leakage", "undercoverage")}
                    for p in sorted(out["baseline"])}
    return out
