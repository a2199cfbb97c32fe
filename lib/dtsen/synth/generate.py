"""`dtsen generate`: a synthetic Indonesia and its agencies' feeds for one cycle, as a Spark job.

Spark spreads fixed chunks of families over tasks; each task simulates its chunk from the founding
cycle to the requested one, writes that chunk's file for every agency into the landing zone and
its ground truth to staging; the driver then loads the ground truth into Delta. Nothing depends on
task order or partitioning, so a seed gives the same bytes on a laptop or a cluster.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.cycles import Cycle, parse_cycle
from dtsen.regions import villages
from dtsen.synth import feeds
from dtsen.synth.population import ChunkState, Reference, current_view, evolve, found_chunk
from dtsen.synth.rng import keyed_uniform

log = logging.getLogger("dtsen.generate")
TRUTH_TABLES = ("truth_persons", "truth_families", "truth_records", "truth_files")
CALIBRATION_FAMILIES = 30_000


@dataclass(frozen=True)
class ChunkJob:
    """Everything a task needs, pickled once into the closure."""

    seed: int
    cycle: str
    cycle_index: int          # quarters since the founding cycle
    founding: Cycle
    n_families: int
    g: dict
    ref: Reference
    landing: str
    staging: str


def _quarter_dates(founding: Cycle, steps: int):
    from datetime import date
    out = []
    for s in range(1, steps + 1):
        m = founding.start_month - 1 + 3 * s
        out.append(date(founding.year + m // 12, m % 12 + 1, 1))
    return out


def simulate_chunk(job: ChunkJob, chunk: int) -> ChunkState:
    g = job.g
    n = min(g["chunk_families"], job.n_families - chunk * g["chunk_families"])
    state = found_chunk(job.seed, chunk, n, job.ref, g, job.founding.reference_date)
    for step, when in enumerate(_quarter_dates(job.founding, job.cycle_index), start=1):
        evolve(state, job.seed, step, when, job.ref, g)
        state.step = step
    return state


def run_chunk(job: ChunkJob, chunk: int) -> dict:
    """Simulate one chunk, write its feed files and staged truth; return its counts."""
    cyc = parse_cycle(job.cycle)
    state = simulate_chunk(job, chunk)
    f, p = current_view(state, job.seed, job.cycle_index, cyc.reference_date, job.ref, job.g)
    records = feeds.build_records(job.seed, job.cycle_index, cyc.reference_date, f, p, state.registrations,
                                  job.ref, job.g)
    prev = {int(k): job.ref.village_codes[v] for k, v in zip(f["family_key"], f["prev_village_idx"]) if v >= 0}
    rec_truth, file_truth = [], []
    for s_idx, (source, (rec, t)) in enumerate(records.items()):
        spec = feeds.FEEDS[source]
        rng = np.random.default_rng([job.seed, chunk, 2000 + job.cycle_index, s_idx])
        rec = rec.reset_index(drop=True)
        t = t.reset_index(drop=True)
        feeds.inject_value_errors(rng, spec, rec, t, job.ref, prev, job.g)
        body, _ = feeds.serialize(rng, spec, rec, t, job.g)
        u = float(keyed_uniform(job.seed, 5000 + job.cycle_index, np.array([chunk * 64 + s_idx]))[0])
        ferr = feeds.file_error(u, spec, job.g)
        body = feeds.apply_file_error(ferr, spec, body, rec, t, rng)
        name = f"{source}_{job.cycle}_{chunk:05d}.{spec.ext}"
        sha = feeds.write_feed_file(os.path.join(job.landing, source, name), body)
        t["source"] = source
        t["file_name"] = name
        t["row_number"] = np.arange(1, len(t) + 1, dtype=np.int64)
        # Dukcapil has no record number of its own: the NIK as delivered is its record id.
        t["record_id"] = rec[spec.record_id or spec.nik].astype("string").to_numpy()
        if "registration" not in t:
            t["registration"] = pd.NA
        t["registration"] = t["registration"].astype("string")
        rec_truth.append(t.rename(columns={"kinds": "error_kinds"}))
        file_truth.append({"source": source, "file_name": name, "chunk": chunk, "rows": len(rec), "bytes": len(body),
                           "sha256": sha, "file_error": ferr})
    persons = p.assign(birth_date=p["birth_date"].dt.date)[
        ["person_key", "family_key", "nik", "kk", "name", "female", "birth_date", "age", "relationship", "married",
         "education", "sector", "wage", "disabled", "enrolled", "pregnant", "nik_district", "village_code"]]
    prev_codes = np.where(f["prev_village_idx"] >= 0, job.ref.village_codes[f["prev_village_idx"].clip(0)], None)
    families = f.assign(prev_village_code=pd.array(prev_codes, dtype="string"))[
        ["family_key", "kk", "size", "village_code", "district_code", "province_code", "urban", "pcc", "lpcc", "poor",
         "wealth", "hidden_wealth", "surveyed", "susenas", "formed_step", "prev_village_code"]]
    staged = {"truth_persons": persons, "truth_families": families,
              "truth_records": pd.concat(rec_truth, ignore_index=True)[
                  ["source", "file_name", "row_number", "record_id", "person_key", "family_key", "registration",
                   "error_kinds"]],
              "truth_files": pd.DataFrame(file_truth).astype({"file_error": "string"})}
    for table, df in staged.items():
        folder = os.path.join(job.staging, table)
        os.makedirs(folder, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False),
                       os.path.join(folder, f"chunk-{chunk:05d}.parquet"))
    return {"chunk": chunk, "families": len(f), "persons": len(p),
            "records": int(sum(len(r) for r, _ in records.values()))}


def calibrate(ref: Reference, g: dict, seed: int) -> tuple[float, float]:
    """Shift log consumption so the person-weighted share under the poverty line hits the target.

    Simulates a founding sample on the driver (same code as the tasks) and takes the weighted
    quantile; returns (shift, mean family size) — the latter sizes the population to --residents."""
    sample = found_chunk(seed ^ 0x5EED, 10 ** 6, CALIBRATION_FAMILIES, ref,
                         {**g, "chunk_families": CALIBRATION_FAMILIES},
                         parse_cycle(g["founding_cycle"]).reference_date)
    size = sample.persons.groupby("family_key").size().reindex(sample.families["family_key"]).to_numpy()
    lp = (sample.families["lpcc_obs"] + sample.families["lpcc_unobs"]).to_numpy()
    order = np.argsort(lp)
    cum = np.cumsum(size[order]) / size.sum()
    q = lp[order][np.searchsorted(cum, g["target_poverty_share"])]
    return float(np.log(g["poverty_line"]) - q), float(size.mean())


def _validate(g: dict, residents: int, seed: int) -> None:
    if residents < 100:
        raise ConfigError(f"--residents {residents}: need at least 100")
    if seed < 0:
        raise ConfigError("--seed must be a non-negative integer")
    if g["chunk_families"] < 50:
        raise ConfigError("generator.chunk_families must be at least 50")
    for k, v in g["family"]["type_shares"].items():
        if v < 0:
            raise ConfigError(f"generator.family.type_shares.{k} is negative")


def generate(spark: SparkSession, conf: Config, *, residents: int, seed: int, cycle: str) -> dict:
    started = time.time()
    g = conf.section("generator")
    _validate(g, residents, seed)
    cyc = parse_cycle(cycle)
    founding = parse_cycle(g["founding_cycle"])
    months = cyc.months_since(founding)
    if months < 0 or months % 3:
        raise ConfigError(f"cycle {cycle} is before the founding cycle {founding} (generator.founding_cycle)")
    ref = Reference.build(villages(), conf.section("regions"), g)
    ref.shift, mean_size = calibrate(ref, g, seed)
    n_families = max(1, round(residents / mean_size))
    n_chunks = math.ceil(n_families / g["chunk_families"])
    cat = Catalog(conf)
    landing, staging = cat.landing_dir(cycle), cat.staging_dir("generate", cycle)
    for folder in (landing, staging):      # rerun of a cycle replaces exactly that cycle's files
        shutil.rmtree(folder, ignore_errors=True)
    job = ChunkJob(seed, cycle, months // 3, founding, n_families, g, ref, landing, staging)
    log.info("generating %s: ~%d residents in %d families, %d chunks", cycle, residents, n_families, n_chunks)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield pd.DataFrame([run_chunk(job, int(c)) for c in batch["id"]])

    counts = (spark.range(0, n_chunks, numPartitions=n_chunks)
              .mapInPandas(run, "chunk long, families long, persons long, records long")
              .agg(F.sum("families").alias("families"), F.sum("persons").alias("persons"),
                   F.sum("records").alias("records")).collect()[0].asDict())
    for table in TRUTH_TABLES:
        df: DataFrame = spark.read.parquet(os.path.join(staging, table)).withColumn("cycle", F.lit(cycle))
        cat.write(df, table, cycle=cycle)
    shutil.rmtree(staging, ignore_errors=True)
    files = cat.read(spark, "truth_files", cycle)
    summary = {
        "cycle": cycle, "seed": seed, "residents": int(counts["persons"]), "families": int(counts["families"]),
        "records": int(counts["records"]), "chunks": n_chunks,
        "files": files.count(),
        "file_errors": {r["file_error"]: r["count"] for r in files.where("file_error IS NOT NULL")
                        .groupBy("file_error").count().collect()},
        "landing": landing, "wall_seconds": round(time.time() - started, 1),
    }
    return summary
