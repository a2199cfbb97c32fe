"""What a cycle in the lake holds, for people: printed at the end of the demo and by `dtsen summary`.

Later stages add their own sections; each section reads only tables that exist.
"""
from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.config import Config


def cycle_summary(spark: SparkSession, conf: Config, cycle: str) -> dict:
    cat = Catalog(conf)
    out: dict = {"cycle": cycle, "lake": cat.root}
    if cat.exists(spark, "truth_families"):
        fam = cat.read(spark, "truth_families", cycle)
        row = fam.agg(F.count("*").alias("families"), F.sum("size").alias("residents"),
                      (F.sum(F.when(F.col("poor"), F.col("size")).otherwise(0)) / F.sum("size")).alias("poor"),
                      (F.sum(F.when(F.col("urban"), F.col("size")).otherwise(0)) / F.sum("size")).alias("urban"),
                      F.avg("size").alias("kk_size"),
                      F.expr("percentile_approx(pcc, 0.5)").alias("median_pcc"),
                      F.sum(F.col("hidden_wealth").cast("int")).alias("hidden_wealth")).first().asDict()
        out["population"] = row
        files = cat.read(spark, "truth_files", cycle)
        out["feeds"] = [r.asDict() for r in files.groupBy("source").agg(
            F.count("*").alias("files"), F.sum("rows").alias("records"),
            F.sum(F.col("file_error").isNotNull().cast("int")).alias("damaged_files")).orderBy("source").collect()]
        out["landing"] = cat.landing_dir(cycle)
    if cat.exists(spark, "ingest_reconciliation"):
        recon = cat.read(spark, "ingest_reconciliation", cycle)
        out["ingest"] = [r.asDict() for r in recon.groupBy("source").agg(
            F.count("*").alias("files"), F.sum((F.col("status") == "rejected").cast("int")).alias("rejected_files"),
            F.sum("rows_in").alias("rows_in"), F.sum("rows_accepted").alias("accepted"),
            F.sum("rows_quarantined").alias("quarantined"),
            F.min(F.col("balanced").cast("int")).alias("balanced")).orderBy("source").collect()]
        out["quality_report"] = f"{cat.root}/reports/{cycle}/ingest_quality.md"
    if cat.exists(spark, "residents") and cat.read(spark, "residents", cycle).limit(1).count():
        links = cat.read(spark, "resolve_links", cycle)
        out["resolve"] = {
            "residents": cat.read(spark, "residents", cycle).count(),
            "families": cat.read(spark, "residents", cycle).select("family_id").distinct().count(),
            "duplicate_registrations": cat.read(spark, "registry_duplicates", cycle).where(~F.col("primary")).count(),
            "links": [r.asDict() for r in links.groupBy("source", "method").count().orderBy("source", "method")
                      .collect()],
            "review": cat.read(spark, "linkage_review", cycle).count()}
    if cat.exists(spark, "family_profiles") and cat.read(spark, "family_profiles", cycle).limit(1).count():
        prof = cat.read(spark, "family_profiles", cycle)
        row = prof.agg(F.count("*").alias("families"),
                       F.sum((~F.col("data_complete")).cast("int")).alias("incomplete"),
                       F.sum((F.size("flags") > 0).cast("int")).alias("flagged"),
                       F.sum((F.col("flag_outcome") == "exclude").cast("int")).alias("exclude"),
                       F.first("rule_version").alias("rule_version")).first().asDict()
        row["by_rule"] = [r.asDict() for r in cat.read(spark, "profile_flags", cycle).groupBy("rule_id", "outcome")
                          .count().orderBy("rule_id").collect()]
        out["profile"] = row
    return out


def render(summary: dict) -> str:
    lines = [f"== cycle {summary['cycle']}  (lake: {summary['lake']})"]
    pop = summary.get("population")
    if not pop:
        return lines[0] + "\n   nothing in the lake for this cycle yet"
    lines.append(f"   population: {pop['residents']:,} residents in {pop['families']:,} families (KK); "
                 f"mean KK size {pop['kk_size']:.2f}; urban {pop['urban']:.1%}; "
                 f"under the poverty line {pop['poor']:.1%}; "
                 f"median consumption Rp {pop['median_pcc']:,.0f}/capita/month")
    lines.append(f"   agency feeds in {summary['landing']}:")
    for f in summary["feeds"]:
        lines.append(f"     {f['source']:<22} {f['records']:>10,} records in {f['files']:>4} files "
                     f"({f['damaged_files']} damaged)")
    if summary.get("ingest"):
        lines.append("   ingest (rows in = accepted + quarantined, per source):")
        for s in summary["ingest"]:
            lines.append(f"     {s['source']:<22} {s['rows_in']:>10,} = {s['accepted']:>10,} + {s['quarantined']:>8,}"
                         f"  ({s['rejected_files']} files rejected; {'balanced' if s['balanced'] else 'NOT BALANCED'})")
        lines.append(f"   quality report: {summary['quality_report']}")
    r = summary.get("resolve")
    if r:
        lines.append(f"   identities: {r['residents']:,} residents in {r['families']:,} families; "
                     f"{r['duplicate_registrations']:,} duplicate registrations merged; "
                     f"{r['review']:,} pairs for review")
        for x in r["links"]:
            lines.append(f"     {x['source']:<22} {x['method']:<14} {x['count']:>10,} records linked")
    p = summary.get("profile")
    if p:
        lines.append(f"   profiles (rules {p['rule_version']}): {p['families']:,} families; "
                     f"{p['incomplete'] or 0:,} with key data missing (Data Tidak Lengkap); {p['flagged'] or 0:,} "
                     f"flagged, {p['exclude'] or 0:,} of them with an exclude outcome")
        for x in p["by_rule"]:
            lines.append(f"     {x['rule_id']:<22} {x['outcome']:<8} {x['count']:>10,} families")
    return "\n".join(lines)
