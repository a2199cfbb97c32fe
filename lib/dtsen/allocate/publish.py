"""`dtsen publish`: the gold allocation tables, recipient files per program and regency with their
manifests, and the diff with the previous cycle.

Files: <publish>/<cycle>/<program>/<regency>.csv and .parquet, holding only what disbursement needs
(family id, KK token, region, rank, benefit; never names or NIKs), sorted by recipient rank then
family id. They are byte-identical on a rerun with the same inputs, conf and model: each is written
from one sorted pandas frame (CSV: fixed column order and '\\n' line ends; Parquet: pyarrow with fixed
settings, no pandas or timestamp metadata). Each file has a manifest `<file>.manifest.json` (cycle,
program, region, rows, total benefit, SHA-256, model, config and code versions). Manifests carry no
creation time, so they are byte-identical too (the Delta history of the gold tables records when a
cycle was published). A cycle's folder is replaced as a whole on a rerun.

The files are collected per program to the driver (a program's recipients: ~10 M rows nationally
for the largest; at that size write per province, or move the writer into applyInPandas).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import dtsen
from dtsen.allocate.job import allocate, allocated
from dtsen.allocate.programs import load_programs
from dtsen.allocate.select import RECIPIENT
from dtsen.catalog import Catalog
from dtsen.config import PROJECT_ROOT, Config
from dtsen.cycles import parse_cycle

log = logging.getLogger("dtsen.publish")

FILE_SCHEMA = pa.schema([("cycle", pa.string()), ("program", pa.string()), ("province_code", pa.string()),
                         ("regency_code", pa.string()), ("village_code", pa.string()), ("family_id", pa.string()),
                         ("kk_token", pa.string()), ("recipient_rank", pa.int32()), ("benefit_rp", pa.int64())])
FILE_COLUMNS = FILE_SCHEMA.names
DIFF_COLUMNS = ["cycle", "previous_cycle", "program", "family_id", "regency_code", "change", "reason_id",
                "reason_en"]
NEW, CONTINUING, EXITED = "new", "continuing", "exited"


def code_version() -> str:
    """The package version and the commit the code was run from (when it runs from a git checkout)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return dtsen.__version__
    return f"{dtsen.__version__}+g{commit[:12]}"


def write_files(frame: pd.DataFrame, folder: str, stem: str) -> dict[str, tuple[str, int]]:
    """frame (FILE_COLUMNS, already sorted) -> stem.csv and stem.parquet; {format: (path, bytes)}."""
    os.makedirs(folder, exist_ok=True)
    out = {}
    csv_path = os.path.join(folder, f"{stem}.csv")
    frame.to_csv(csv_path, index=False, lineterminator="\n", encoding="utf-8")
    table = pa.Table.from_pandas(frame, schema=FILE_SCHEMA, preserve_index=False).replace_schema_metadata(None)
    pq_path = os.path.join(folder, f"{stem}.parquet")
    pq.write_table(table, pq_path, compression="snappy", use_dictionary=False, write_statistics=True,
                   version="2.6", data_page_version="1.0", store_schema=False, row_group_size=1 << 20)
    for fmt, path in (("csv", csv_path), ("parquet", pq_path)):
        out[fmt] = (path, os.path.getsize(path))
    return out


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cycle_diff(cur_elig: DataFrame, cur_sel: DataFrame, prev_elig: DataFrame, prev_sel: DataFrame, *,
               cycle: str, previous_cycle: str) -> DataFrame:
    """Recipients new / continuing / exited per program since the previous cycle, each with a reason."""
    def recipients(sel: DataFrame, side: str) -> DataFrame:
        return sel.where(F.col("outcome") == RECIPIENT).select("program", "family_id",
                                                               F.col("regency_code").alias(f"_reg_{side}"),
                                                               F.lit(True).alias(f"_in_{side}"))

    def explain(elig: DataFrame, sel: DataFrame, side: str) -> DataFrame:
        return (elig.select("program", "family_id", F.col("eligible").alias(f"_elig_{side}"),
                            F.array_join("failed_id", "; ").alias(f"_fail_id_{side}"),
                            F.array_join("failed_en", "; ").alias(f"_fail_en_{side}"))
                .join(sel.select("program", "family_id", F.col("reason_id").alias(f"_sel_id_{side}"),
                                 F.col("reason_en").alias(f"_sel_en_{side}")), ["program", "family_id"], "left"))

    keys = ["program", "family_id"]
    d = (recipients(cur_sel, "cur").join(recipients(prev_sel, "prev"), keys, "full")
         .join(explain(cur_elig, cur_sel, "cur"), keys, "left")
         .join(explain(prev_elig, prev_sel, "prev"), keys, "left"))
    c, lit = F.col, F.lit
    change = (F.when(c("_in_cur") & c("_in_prev"), lit(CONTINUING)).when(c("_in_cur"), lit(NEW))
              .otherwise(lit(EXITED)))
    new_id = (F.when(c("_elig_prev").isNull(), lit("baru terdaftar di DTSEN"))
              .when(c("_elig_prev"), F.concat(lit(f"siklus {previous_cycle}: "), c("_sel_id_prev")))
              .otherwise(F.concat(lit("baru memenuhi syarat; sebelumnya: "), c("_fail_id_prev"))))
    new_en = (F.when(c("_elig_prev").isNull(), lit("newly in the registry"))
              .when(c("_elig_prev"), F.concat(lit(f"in {previous_cycle}: "), c("_sel_en_prev")))
              .otherwise(F.concat(lit("newly eligible; before: "), c("_fail_en_prev"))))
    out_id = (F.when(c("_elig_cur").isNull(), lit("tidak lagi terdaftar di DTSEN siklus ini"))
              .when(c("_elig_cur"), c("_sel_id_cur"))
              .otherwise(F.concat(lit("tidak lagi memenuhi syarat: "), c("_fail_id_cur"))))
    out_en = (F.when(c("_elig_cur").isNull(), lit("no longer in the registry this cycle"))
              .when(c("_elig_cur"), c("_sel_en_cur"))
              .otherwise(F.concat(lit("no longer eligible: "), c("_fail_en_cur"))))
    ch = c("change")
    return (d.withColumn("change", change).select(
        lit(cycle).alias("cycle"), lit(previous_cycle).alias("previous_cycle"), "program", "family_id",
        F.coalesce("_reg_cur", "_reg_prev").alias("regency_code"), "change",
        F.when(ch == CONTINUING, lit("tetap memenuhi syarat dan masuk kuota")).when(ch == NEW, new_id)
        .otherwise(out_id).alias("reason_id"),
        F.when(ch == CONTINUING, lit("still eligible and within the quota")).when(ch == NEW, new_en)
        .otherwise(out_en).alias("reason_en")))


def previous_cycle(spark: SparkSession, cat: Catalog, cycle: str) -> str | None:
    if not cat.exists(spark, "recipients"):
        return None
    ref = parse_cycle(cycle).reference_date
    known = [r["cycle"] for r in cat.read(spark, "recipients").select("cycle").distinct().collect()]
    earlier = sorted((k for k in known if parse_cycle(k).reference_date < ref), key=lambda k: parse_cycle(k))
    return earlier[-1] if earlier else None


def publish(spark: SparkSession, conf: Config, *, cycle: str, reuse_allocation: bool = False) -> dict:
    """Allocate the cycle (or, with reuse_allocation, take the allocation already in the lake, as the
    DAG's allocate task wrote it), then write the files, manifests, index and the cycle diff."""
    started = time.time()
    programs = load_programs(conf, cycle)
    cat = Catalog(conf)
    summary = (allocated if reuse_allocation else allocate)(spark, conf, cycle=cycle)
    scores = cat.read(spark, "family_scores", cycle)
    models = sorted({f"{r['model_name']}:{r['model_version']}" for r in
                     scores.select("model_name", "model_version").distinct().collect()})
    kk = (cat.read(spark, "residents", cycle).where(F.col("family_id").isNotNull())
          .groupBy("family_id").agg(F.min("kk_token").alias("kk_token")))
    chosen = (cat.read(spark, "recipients", cycle).where(F.col("outcome") == RECIPIENT)
              .join(kk, "family_id", "left").select(*FILE_COLUMNS).localCheckpoint())   # once, not per program
    root = cat.publish_dir(cycle)
    shutil.rmtree(root, ignore_errors=True)
    base = {"cycle": cycle, "config_version": programs.version, "code_version": code_version(),
            "model_version": ", ".join(models)}
    index, n_files = [], 0
    for p in programs.programs:
        frame = (chosen.where(F.col("program") == p.program).toPandas()
                 .sort_values(["regency_code", "recipient_rank", "family_id"], kind="mergesort")
                 .reset_index(drop=True))
        frame["recipient_rank"] = frame["recipient_rank"].astype("int32")
        frame["benefit_rp"] = frame["benefit_rp"].astype("int64")
        for regency, part in frame.groupby("regency_code", sort=True):
            part = part.reset_index(drop=True)
            folder = os.path.join(root, p.program)
            for fmt, (path, size) in write_files(part, folder, regency).items():
                manifest = {**base, "program": p.program, "program_name": p.name,
                            "province_code": regency[:2], "regency_code": regency, "format": fmt,
                            "file": os.path.basename(path), "rows": len(part),
                            "total_benefit_rp": int(part["benefit_rp"].sum()), "bytes": size,
                            "sha256": sha256(path), "columns": FILE_COLUMNS}
                with open(f"{path}.manifest.json", "w", encoding="utf-8") as fh:
                    fh.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
                index.append({k: manifest[k] for k in ("program", "regency_code", "format", "file", "rows",
                                                       "total_benefit_rp", "sha256")})
                n_files += 1
    with open(os.path.join(root, "index.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps({**base, "files": index}, indent=2, sort_keys=True) + "\n")

    prev = previous_cycle(spark, cat, cycle)
    diff_counts: dict[str, dict[str, int]] = {}
    if prev is not None:
        diff = cycle_diff(cat.read(spark, "eligibility", cycle), cat.read(spark, "recipients", cycle),
                          cat.read(spark, "eligibility", prev), cat.read(spark, "recipients", prev),
                          cycle=cycle, previous_cycle=prev)
        cat.write(diff.select(*DIFF_COLUMNS), "cycle_diff", cycle=cycle)
        for r in cat.read(spark, "cycle_diff", cycle).groupBy("program", "change").count().collect():
            diff_counts.setdefault(r["program"], {})[r["change"]] = int(r["count"])
    summary.update({"published": root, "files": n_files, "model_version": base["model_version"],
                    "code_version": base["code_version"], "previous_cycle": prev,
                    "diff": dict(sorted(diff_counts.items())), "publish_wall_seconds": round(time.time() - started, 1)})
    log.info("published %s: %s files in %s; diff with %s: %s", cycle, n_files, root, prev or "-", diff_counts)
    return summary
