"""`dtsen ingest`: landing files -> bronze -> silver + PII + quarantine, reconciled per file.

1. Files new to the cycle (by SHA-256) are read by Spark tasks, one file at a time, and appended to
   bronze as received with lineage; a file already in bronze adds nothing.
2. Per source, all of the cycle's bronze rows are validated against the contract; valid rows go
   to silver (identifiers as HMAC tokens, personal data only in the encrypted PII table), the rest
   to quarantine with reason codes. These outputs are replaced per (cycle, source): idempotent.
   Silver is written per source; PII and quarantine, shared by all sources, once each after them.
3. Per file, rows in = rows accepted + rows quarantined, written to the reconciliation table; a
   file that does not balance fails the job.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import reduce

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dtsen import standardize as S
from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.contracts import Contract, load_contract, sources
from dtsen.cycles import parse_cycle
from dtsen.ingest.reader import read_bytes
from dtsen.ingest.validate import check, duplicate_lines, mark_duplicates, raw_value, region_reference
from dtsen.privacy import Keys, load_keys, protect_session

log = logging.getLogger("dtsen.ingest")

READ_SCHEMA = ("source string, file_name string, file_sha256 string, line_number long, raw_line string, "
               "raw_hash string, `values` array<string>, row_error string")
LINEAGE = ["cycle", "source", "file_name", "file_sha256", "line_number", "record_key", "contract_version"]


class ReconciliationError(RuntimeError):
    """Rows in != rows accepted + rows quarantined for some file: the run must not go on."""


def _landing_files(cat: Catalog, cycle: str, wanted: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for source in wanted:
        folder = cat.landing_dir(cycle, source)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not name.endswith(".tmp"):
                out.append((source, name, path))
    return out


def read_files(spark: SparkSession, files: list[tuple[str, str, str]], contracts: dict[str, Contract],
               skip_sha: set[tuple[str, str]], final_newline_required: bool, tasks: int,
               info_dir: str) -> DataFrame:
    """Spark tasks read each file once and return its rows; what they learn about the file itself
    (status, reason, drift, row count) they leave as a small JSON document in info_dir. Rows go to
    Spark as Arrow batches built straight from the reader's lists (a third faster than through pandas
    on the 1M population's 3.3M rows)."""
    import hashlib

    import pyarrow as pa

    text, texts = pa.string(), pa.list_(pa.string())
    schema = pa.schema([("source", text), ("file_name", text), ("file_sha256", text), ("line_number", pa.int64()),
                        ("raw_line", text), ("raw_hash", text), ("values", texts), ("row_error", text)])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            b = batch.to_pydict()
            for source, name, path in zip(b["source"], b["file_name"], b["path"]):
                with open(path, "rb") as fh:
                    data = fh.read()
                sha = hashlib.sha256(data).hexdigest()
                info = {"source": source, "file_name": name, "file_sha256": sha, "bytes": len(data)}
                if (source, sha) in skip_sha:
                    _write_info(info_dir, {**info, "status": "skipped", "message": "already ingested (same SHA-256)"})
                    continue
                got = read_bytes(data, contracts[source], final_newline_required=final_newline_required)
                rows, n = got.rows, len(got.rows)
                yield pa.RecordBatch.from_arrays([
                    pa.array([source] * n, text), pa.array([name] * n, text), pa.array([sha] * n, text),
                    pa.array([r.line_number for r in rows], pa.int64()), pa.array([r.raw for r in rows], text),
                    pa.array([r.raw_hash for r in rows], text), pa.array([r.values for r in rows], texts),
                    pa.array([r.error for r in rows], text)], schema=schema)
                _write_info(info_dir, {**info, "status": got.status, "reason": got.reason, "message": got.message,
                                       "drift": json.dumps(got.drift), "rows_in": n})

    listing = pd.DataFrame(files, columns=["source", "file_name", "path"])
    n = max(1, min(tasks, len(files)))
    return spark.createDataFrame(listing).repartition(n).mapInArrow(run, READ_SCHEMA)


def _write_info(folder: str, info: dict) -> None:
    """Written after the file's rows were handed to Spark; a retried task rewrites the same content."""
    path = os.path.join(folder, f"{info['source']}__{info['file_name']}.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(info, fh)
    os.replace(path + ".tmp", path)


def _record_key(c_sha: str = "file_sha256", c_line: str = "line_number"):
    return F.substring(F.sha2(F.concat_ws("|", F.col(c_sha), F.col(c_line).cast("string")), 256), 1, 32)


LOG_SCHEMA = ("cycle string, source string, file_name string, file_sha256 string, bytes long, status string, "
              "reason string, message string, rows_in long, drift string, contract_version string, "
              "ingested_at timestamp")


def land(spark: SparkSession, conf: Config, cycle: str, wanted: list[str], ingest_time: datetime) -> dict:
    """Step 1: new files -> bronze and the ingest log. Returns counts of files read / skipped."""
    cat = Catalog(conf)
    contracts = {s: load_contract(conf, s) for s in wanted}
    files = _landing_files(cat, cycle, wanted)
    if not files:
        return {"files_read": 0, "files_skipped": 0, "files_rejected": 0}
    done: set[tuple[str, str]] = set()
    if cat.exists(spark, "ingest_files") and cat.exists(spark, "bronze_rows"):
        # This run's sources only: `ingest --source X` tasks of one cycle run side by side, and another
        # source's rows may be in bronze before its log entry is written.
        mine = F.col("source").isin(wanted)
        logged = {(r["source"], r["file_sha256"]) for r in cat.read(spark, "ingest_files", cycle).where(mine)
                  .select("source", "file_sha256").collect()}
        in_bronze = {(r["source"], r["file_sha256"]) for r in cat.read(spark, "bronze_rows", cycle).where(mine)
                     .select("source", "file_sha256").distinct().collect()}
        # A crash between the bronze append and the log leaves rows without a log entry: drop them and
        # read the file again, so the log and bronze always agree.
        orphans = in_bronze - logged
        if orphans:
            from delta.tables import DeltaTable

            cond = " OR ".join(f"(source = '{s}' AND file_sha256 = '{h}')" for s, h in sorted(orphans))
            DeltaTable.forPath(spark, cat.path("bronze_rows")).delete(f"cycle = '{cycle}' AND ({cond})")
        done = logged
    # one folder per run's sources: `ingest --source X` tasks of one cycle run side by side and must
    # not clear each other's file reports
    info_dir = os.path.join(cat.staging_dir("ingest", cycle), wanted[0] if len(wanted) == 1 else "all")
    shutil.rmtree(info_dir, ignore_errors=True)
    os.makedirs(info_dir)
    version = F.create_map(*[x for s, c in contracts.items() for x in (F.lit(s), F.lit(c.version))])
    bronze = (read_files(spark, files, contracts, done, conf.get("ingest.final_newline_required"),
                         conf.get("ingest.max_read_tasks"), info_dir)
              .withColumn("cycle", F.lit(cycle))
              .withColumn("record_key", _record_key())
              .withColumn("contract_version", version[F.col("source")])
              .withColumn("ingested_at", F.lit(ingest_time))
              .select("cycle", "source", "file_name", "file_sha256", "line_number", "record_key", "raw_line",
                      "raw_hash", "values", "row_error", "contract_version", "ingested_at"))
    cat.writer(bronze, "bronze_rows").mode("append").save(cat.path("bronze_rows"))
    infos = []
    for name in sorted(os.listdir(info_dir)):
        with open(os.path.join(info_dir, name)) as fh:
            infos.append(json.load(fh))
    shutil.rmtree(info_dir, ignore_errors=True)
    if len(infos) != len(files):
        raise ReconciliationError(f"{len(files)} files listed but {len(infos)} read: a reader task was lost")
    _drop_duplicate_deliveries(spark, cat, cycle, infos)
    log_rows = pd.DataFrame([{
        "cycle": cycle, "source": i["source"], "file_name": i["file_name"], "file_sha256": i["file_sha256"],
        "bytes": i["bytes"], "status": i["status"], "reason": i.get("reason"), "message": i.get("message"),
        "rows_in": i.get("rows_in"), "drift": i.get("drift"), "contract_version": contracts[i["source"]].version,
        "ingested_at": ingest_time} for i in infos])
    counts = log_rows["status"].value_counts().to_dict()
    _merge_log(spark, cat, spark.createDataFrame(log_rows, LOG_SCHEMA))
    return {"files_read": int(sum(v for k, v in counts.items() if k != "skipped")),
            "files_skipped": int(counts.get("skipped", 0)), "files_rejected": int(counts.get("rejected", 0))}


def _drop_duplicate_deliveries(spark: SparkSession, cat: Catalog, cycle: str, infos: list[dict]) -> None:
    """Files of one source with the same content (SHA-256) delivered together under different names:
    the first by name is ingested, the others are logged as 'duplicate' and their bronze rows removed,
    as a later run would skip them by checksum. Files with no rows (empty ones) are left as they are."""
    first: dict[tuple[str, str], str] = {}
    drop = []
    for i in sorted(infos, key=lambda i: i["file_name"]):
        if i["status"] == "skipped" or not i.get("rows_in"):
            continue
        key = (i["source"], i["file_sha256"])
        if key in first:
            drop.append(i)
            i.update(status="duplicate", reason=None, rows_in=0, drift="[]",
                     message=f"same content (SHA-256) as {first[key]} in this delivery: not ingested twice")
        else:
            first[key] = i["file_name"]
    if drop:
        from delta.tables import DeltaTable

        cond = " OR ".join(f"(source = '{i['source']}' AND file_name = '{i['file_name']}')" for i in drop)
        DeltaTable.forPath(spark, cat.path("bronze_rows")).delete(f"cycle = '{cycle}' AND ({cond})")
        log.warning("%d file(s) repeat another file's content and were not ingested twice", len(drop))


def _merge_log(spark: SparkSession, cat: Catalog, rows: DataFrame) -> None:
    """The ingest log keeps one row per (cycle, source, file, checksum); skips of known files add nothing."""
    from delta.tables import DeltaTable

    fresh = rows.where(F.col("status") != "skipped")
    if not cat.exists(spark, "ingest_files"):
        cat.writer(fresh, "ingest_files").save(cat.path("ingest_files"))
        return
    (DeltaTable.forPath(spark, cat.path("ingest_files")).alias("t")
     .merge(fresh.alias("s"), "t.cycle = s.cycle AND t.source = s.source AND t.file_name = s.file_name "
            "AND t.file_sha256 = s.file_sha256")
     .whenNotMatchedInsertAll().execute())


def _distinct_values(spark: SparkSession, cat: Catalog, cycle: str, wanted: list[str], kind: str) -> DataFrame | None:
    """Every distinct raw value (`__v`, as validation reads it) of the fields of type `kind` in the
    cycle's bronze rows of `wanted`; None when no contract has such a field."""
    bronze = cat.read(spark, "bronze_rows", cycle)
    parts = [bronze.where(F.col("source") == s).select(raw_value(i).alias("__v"))
             for s in wanted for i, f in enumerate(load_contract(cat.conf, s).fields) if f.type == kind]
    return reduce(DataFrame.union, parts).distinct() if parts else None


def name_dictionary(spark: SparkSession, cat: Catalog, cycle: str, wanted: list[str], keys: Keys) -> DataFrame | None:
    """Every distinct value of every name field in the cycle's bronze rows of `wanted` (`__v`, as
    validation reads it) with its standardized forms: the key and phonetic tokens and the titles for
    silver, the cleaned name for PII. None when no contract has a name field.

    Built once for all sources: the name rules cost ~55 us of CPU a value, and the same people's names
    come from several agencies (the 1M population's feeds hold 1.17M distinct names per source, summed,
    but 388k distinct over all sources). Names of rows that fail validation are in it too; they join
    nothing. Kept in Spark's cache only, never written: it holds names in clear."""
    values = _distinct_values(spark, cat, cycle, wanted, "name")
    if values is None:
        return None
    key = F.col("__key")          # a column of its own: the phonetic key reads it
    return (values.withColumn("__key", S.name_key(F.col("__v")))
            .select("__v", keys.token(key).alias("key_token"),
                    keys.token(S.phonetic_of_key(key)).alias("phonetic_token"),
                    # titles (H., HJ., DRS., S.PD., ...) in their own field: they say something, not who
                    S.titles(F.col("__v")).alias("titles"), S.clean_name(F.col("__v")).alias("clean")))


def address_dictionary(spark: SparkSession, cat: Catalog, cycle: str, wanted: list[str]) -> DataFrame | None:
    """Every distinct value of every address field in the cycle's bronze rows of `wanted` with its
    normalized form (`clean`, sealed in PII); None when no contract has an address field. Addresses
    repeat even more than names (the 1M registry: 2,400 distinct in 1.01M rows). Cache only."""
    values = _distinct_values(spark, cat, cycle, wanted, "address")
    return None if values is None else values.select("__v", S.normalize_address(F.col("__v")).alias("clean"))


class Dictionaries:
    """The cycle's name and address dictionaries (those its contracts need), cached and counted, and
    looked up per field with `values`. Call `unpersist` when the sources are refined.

    A dictionary of at most `ingest.broadcast_dictionary_rows` rows is broadcast: each source then
    looks its values up in memory instead of shuffling its whole wide rows to join them (the 1M
    population's 388k names; measured per source in BENCHMARKS.md). At national scale the names are
    far more and are joined by shuffling."""

    def __init__(self, spark: SparkSession, conf: Config, cycle: str, wanted: list[str], keys: Keys) -> None:
        cat = Catalog(conf)
        limit = conf.get("ingest.broadcast_dictionary_rows")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise ConfigError(f"ingest.broadcast_dictionary_rows must be a whole number of rows (0 or more), "
                              f"got {limit!r}")
        self.frames: dict[str, DataFrame] = {}
        self.broadcast: set[str] = set()
        for kind, df in (("name", name_dictionary(spark, cat, cycle, wanted, keys)),
                         ("address", address_dictionary(spark, cat, cycle, wanted))):
            if df is not None:
                self.frames[kind] = df.persist()
                n = self.frames[kind].count()
                if n <= limit:
                    self.broadcast.add(kind)
                log.info("%s dictionary: %d distinct values%s", kind, n, " (broadcast)" if n <= limit else "")

    def values(self, kind: str, field: str) -> DataFrame:
        """The `kind` dictionary with its columns named for one field: `<field>_<form>` for what goes
        to silver (name key and phonetic tokens, titles), `__<field>_clean` for what PII seals."""
        d = self.frames[kind]
        d = d.select("__v", *[F.col(x).alias(f"__{field}_clean" if x == "clean" else f"{field}_{x}")
                              for x in d.columns if x != "__v"])
        return F.broadcast(d) if kind in self.broadcast else d

    def unpersist(self) -> None:
        for df in self.frames.values():
            df.unpersist()


def to_silver(valid: DataFrame, contract: Contract, keys: Keys, reference_date, dicts: Dictionaries) -> DataFrame:
    """Silver rows: lineage, identifiers as tokens, name keys as tokens, titles, birth year and age,
    non-personal attributes as typed. `dicts`: the cycle's dictionaries."""
    cols = [F.col(c) for c in LINEAGE]
    for f in contract.fields:
        c = F.col(f.name)
        if f.is_identity:
            cols.append(keys.token(c).alias(f"{f.name}_token"))
        elif f.type == "name":
            valid = S.join_values(valid, f.name, dicts.values("name", f.name))
            cols += [F.col(f"{f.name}_{x}") for x in ("key_token", "phonetic_token", "titles")]
        elif f.type == "date" and f.pii:
            cols += [F.year(c).alias(f"{f.name.replace('_date', '')}_year"),
                     F.floor(F.months_between(F.lit(reference_date), c) / 12).cast("int")
                     .alias("age" if f.name == "birth_date" else f"{f.name}_age")]
        elif not (f.pii or f.type == "address"):
            cols.append(c)
    return valid.select(*cols, "flags")


def to_pii(valid: DataFrame, contract: Contract, keys: Keys, dicts: Dictionaries) -> DataFrame | None:
    """Restricted PII rows: (cycle, source, record_key, pii_enc), the personal fields sealed in one
    AES-GCM ciphertext (`Keys.unseal` opens it): names as registered (titles included), dates as
    yyyy-MM-dd, addresses normalized. Name keys are not kept: they are pure functions of the name.
    `dicts`: the cycle's dictionaries (the cleaned names and addresses are sealed)."""
    sealed = {}
    for f in contract.fields:
        c = F.col(f.name)
        if f.type in ("name", "address"):
            valid = S.join_values(valid, f.name, dicts.values(f.type, f.name))
            sealed[f.name] = F.col(f"__{f.name}_clean")
        elif f.type == "date" and f.pii:
            sealed[f.name] = F.date_format(c, "yyyy-MM-dd")
        elif f.pii and not f.is_identity:
            sealed[f.name] = c
    if not sealed:
        return None
    return valid.select("cycle", "source", "record_key", keys.seal(sealed).alias("pii_enc"))


def refine(spark: SparkSession, conf: Config, cycle: str, source: str, keys: Keys, regions: DataFrame,
           dicts: Dictionaries, quarantined_at: datetime) -> tuple[dict[str, float], dict[str, DataFrame]]:
    """Step 2 for one source: validate the cycle's bronze rows and write silver. Returns the seconds
    each step took (the step ends when its output is materialized or written) and the source's rows
    for the tables all sources share, cached, by table: `quarantine` always, `pii` when the contract
    has personal fields. The caller writes each shared table once for all sources (`write_shared`):
    a commit per source cost ~1.7-2 s however few rows it held (eight PII and nine quarantine commits
    a cycle). `dicts`: the cycle's `Dictionaries` (covering this source's name and address fields).

    Validation runs once into a cache (without the parsed value array), the duplicate keys once into
    another; silver, PII and quarantine each compute only their own columns from them."""
    steps: dict[str, float] = {}
    clock = [time.time()]

    def done(step: str) -> None:
        now = time.time()
        steps[step] = round(now - clock[0], 1)
        clock[0] = now

    cat = Catalog(conf)
    contract = load_contract(conf, source)
    cyc = parse_cycle(cycle)
    as_of = cyc.reference_date.replace(year=cyc.year + (cyc.start_month - 1 + cyc.months) // 12,
                                       month=(cyc.start_month - 1 + cyc.months) % 12 + 1)
    bronze = cat.read(spark, "bronze_rows", cycle).where(F.col("source") == source)
    checked = check(bronze, contract, regions, as_of=as_of).persist()
    dups = None
    held: dict[str, DataFrame] = {}
    try:
        checked.count()
        done("validate")
        # the few duplicate lines, found once: silver, PII and quarantine each join them back
        dups = duplicate_lines(checked, contract)
        if dups is not None:
            dups = dups.persist()
            dups.count()    # materialized now, so the planner sees how small it is and broadcasts it
        done("duplicates")
        rows = mark_duplicates(checked, contract, dups)
        ok = F.size("reasons") == 0
        cat.write(to_silver(rows.where(ok), contract, keys, cyc.reference_date, dicts),
                  f"silver_{contract.silver}", cycle=cycle)
        done("silver")
        if contract.silver == "person":
            membership = cat.read(spark, "silver_person", cycle).select(
                "cycle", "record_key", "kk_token", "nik_token", "relationship")
            cat.write(membership, "silver_family_membership", cycle=cycle)
            done("membership")
        pii = to_pii(rows.where(ok), contract, keys, dicts)
        if pii is not None:
            # on disk where memory runs short: at national scale a cycle's ciphertexts outgrow the cache
            held["pii"] = pii.persist(StorageLevel.MEMORY_AND_DISK)
            held["pii"].count()
            done("pii")
        held["quarantine"] = rows.where(~ok).select(
            "cycle", "source", "file_name", "file_sha256", "line_number", "record_key", "raw_line", "raw_hash",
            "reasons", "details", "contract_version", F.lit(quarantined_at).alias("quarantined_at")).persist()
        held["quarantine"].count()
        done("quarantine")
    except BaseException:
        for df in held.values():
            df.unpersist()
        raise
    finally:
        for df in (checked, dups):
            if df is not None:
                df.unpersist()
    return steps, held


def write_shared(cat: Catalog, cycle: str, table: str, rows: dict[str, DataFrame]) -> None:
    """The rows `refine` held for a shared table, per source, in one commit that replaces exactly
    those sources' slices of the cycle (a source with no row there gets an empty slice)."""
    if rows:
        _write_source(cat, reduce(DataFrame.unionByName, rows.values()), table, cycle, sorted(rows))


def _write_source(cat: Catalog, df: DataFrame, table: str, cycle: str, source: str | list[str]) -> None:
    """Replace exactly the (cycle, source) slices of a table shared by all sources."""
    names = ", ".join(f"'{s}'" for s in ([source] if isinstance(source, str) else sorted(source)))
    (cat.writer(df, table).mode("overwrite")
     .option("replaceWhere", f"cycle = '{cycle}' AND source IN ({names})").save(cat.path(table)))


def ingest(spark: SparkSession, conf: Config, *, cycle: str, source: str | None = None,
           now: datetime | None = None) -> dict:
    started = time.time()
    now = now or datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    parse_cycle(cycle)
    known = sources(conf)
    if source is not None and source not in known:
        raise ConfigError(f"unknown source '{source}' (contracts: {', '.join(known)})")
    wanted = [source] if source else known
    keys = load_keys(conf)
    protect_session(spark, keys)
    cat = Catalog(conf)
    t0 = time.time()
    tables = ["bronze_rows", "ingest_files", "quarantine", "pii", "silver_family_membership",
              *sorted({f"silver_{load_contract(conf, s).silver}" for s in wanted})]
    altered = cat.align_properties(spark, tables)
    if altered:
        log.info("statistics properties set from the catalog on %s", ", ".join(altered))
    landed = land(spark, conf, cycle, wanted, now)
    land_seconds = round(time.time() - t0, 1)
    if not cat.exists(spark, "bronze_rows"):
        raise ConfigError(f"nothing to ingest: no files in {cat.landing_dir(cycle)} for {', '.join(wanted)}")
    regions = region_reference(spark).persist()
    present = {r["source"] for r in cat.read(spark, "bronze_rows", cycle).select("source").distinct().collect()}
    seconds: dict[str, float] = {}
    steps: dict[str, dict[str, float]] = {}
    held: dict[str, dict[str, DataFrame]] = {"pii": {}, "quarantine": {}}   # table -> source -> rows
    todo = [s for s in wanted if s in present]
    t0 = time.time()
    dicts = Dictionaries(spark, conf, cycle, todo, keys)
    dictionary_seconds = round(time.time() - t0, 1)

    def one(s: str) -> None:
        t = time.time()
        steps[s], mine = refine(spark, conf, cycle, s, keys, regions, dicts, now)
        for table, df in mine.items():
            held[table][s] = df
        seconds[s] = round(time.time() - t, 1)
        log.info("ingested %s in %.1f s (%s)", s, seconds[s], ", ".join(f"{k} {v}" for k, v in steps[s].items()))

    for s in sorted(set(wanted) - present):
        log.warning("no bronze rows for %s in %s", s, cycle)
    # Sources are independent: run a few at once so one's planning and commits overlap another's work.
    shared_seconds: dict[str, float] = {}
    try:
        with ThreadPoolExecutor(max_workers=int(conf.get("ingest.parallel_sources"))) as pool:
            list(pool.map(one, todo))
        for table, rows in held.items():
            t0 = time.time()
            write_shared(cat, cycle, table, rows)
            shared_seconds[table] = round(time.time() - t0, 1)
    finally:
        dicts.unpersist()
        for rows in held.values():
            for df in rows.values():
                df.unpersist()
    t0 = time.time()
    recon = reconcile(spark, cat, cycle, wanted, now)
    log.info("reconciled %d files in %.1f s", len(recon), time.time() - t0)
    # The report covers every source of the cycle: one-source runs (the DAG's tasks, side by side) leave
    # it to the quality gate, which runs once after them all.
    report = quality_report(spark, cat, cycle) if source is None else None
    bad = recon[~recon["balanced"]]
    summary = {"cycle": cycle, **landed, "sources": len(todo),
               "rows_in": int(recon["rows_in"].sum()), "rows_accepted": int(recon["rows_accepted"].sum()),
               "rows_quarantined": int(recon["rows_quarantined"].sum()),
               "files_unbalanced": int(len(bad)), "report": report, "land_seconds": land_seconds,
               "dictionary_seconds": dictionary_seconds, "pii_seconds": shared_seconds["pii"],
               "quarantine_seconds": shared_seconds["quarantine"],
               "reconcile_seconds": round(time.time() - t0, 1),
               "rows_by_source": {k: int(v) for k, v in recon.groupby("source")["rows_in"].sum().items()},
               "seconds_by_source": seconds, "step_seconds_by_source": steps,
               "wall_seconds": round(time.time() - started, 1)}
    if len(bad):
        raise ReconciliationError(
            f"reconciliation failed for {len(bad)} file(s) of cycle {cycle}: rows in != accepted + quarantined, "
            f"e.g. {bad.iloc[0][['source', 'file_name', 'rows_in', 'rows_accepted', 'rows_quarantined']].to_dict()}"
            "; see the ingest_reconciliation table")
    return summary


def file_counts(spark: SparkSession, cat: Catalog, cycle: str, wanted: list[str]) -> pd.DataFrame:
    """Per file, as the tables hold them now: rows in bronze, in silver and in quarantine. Read back
    from Delta in one query, so the check does not trust the writer's own bookkeeping."""
    silver = sorted({f"silver_{load_contract(cat.conf, s).silver}" for s in wanted})
    parts = [cat.read(spark, "bronze_rows", cycle).where(F.col("source").isin(wanted))
             .select("file_sha256", F.lit("rows_in").alias("kind")),
             cat.read(spark, "quarantine", cycle).where(F.col("source").isin(wanted))
             .select("file_sha256", F.lit("rows_quarantined").alias("kind"))]
    parts += [cat.read(spark, t, cycle).where(F.col("source").isin(wanted))
              .select("file_sha256", F.lit("rows_accepted").alias("kind")) for t in silver if cat.exists(spark, t)]
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    got = union.groupBy("file_sha256", "kind").count().toPandas()
    wide = got.pivot(index="file_sha256", columns="kind", values="count").reset_index()
    for c in ("rows_in", "rows_accepted", "rows_quarantined"):
        wide[c] = wide[c].fillna(0).astype("int64") if c in wide else 0
    return wide[["file_sha256", "rows_in", "rows_accepted", "rows_quarantined"]]


RECON_TYPES = {"cycle": "string", "source": "string", "file_name": "string", "file_sha256": "string",
               "status": "string", "reason": "string", "contract_version": "string", "rows_read": "bigint",
               "rows_in": "bigint", "rows_accepted": "bigint", "rows_quarantined": "bigint",
               "balanced": "boolean", "checked_at": "timestamp"}


def reconcile(spark: SparkSession, cat: Catalog, cycle: str, wanted: list[str], now: datetime) -> pd.DataFrame:
    """Per file of the cycle (from the ingest log): rows read vs rows in bronze vs accepted + quarantined."""
    files = cat.read(spark, "ingest_files", cycle).where(F.col("source").isin(wanted)).toPandas()
    counts = file_counts(spark, cat, cycle, wanted)
    out = files[["cycle", "source", "file_name", "file_sha256", "status", "reason", "contract_version",
                 "rows_in"]].rename(columns={"rows_in": "rows_read"}).merge(counts, on="file_sha256", how="left")
    for c in ("rows_in", "rows_accepted", "rows_quarantined"):
        out[c] = out[c].fillna(0).astype("int64")
    # a duplicate delivery shares its checksum with the file that was ingested: it holds no rows itself
    out.loc[out["status"] == "duplicate", ["rows_in", "rows_accepted", "rows_quarantined"]] = 0
    # rows_read (what the reader found) must equal what bronze holds, and split exactly in two.
    out["balanced"] = (out["rows_in"] == out["rows_read"]) & (
        out["rows_in"] == out["rows_accepted"] + out["rows_quarantined"])
    out["checked_at"] = now
    if len(out):
        # only the sources this run ingested: `ingest --source X` tasks of one cycle run side by side.
        # Typed explicitly: one source's pandas frame may hold no reason at all (a void column), which
        # would not match the table another source's run created.
        recon = spark.createDataFrame(out).select(*[F.col(c).cast(t).alias(c) for c, t in RECON_TYPES.items()])
        _write_source(cat, recon, "ingest_reconciliation", cycle, wanted)
    return out


def quality_report(spark: SparkSession, cat: Catalog, cycle: str) -> str:
    """Counts per source and reason, as a table and a readable Markdown file for ops."""
    q = cat.read(spark, "quarantine", cycle)
    reasons = (q.select("source", F.explode("reasons").alias("reason")).groupBy("source", "reason")
               .agg(F.count("*").alias("rows")).withColumn("cycle", F.lit(cycle)))
    cat.write(reasons, "dq_reasons", cycle=cycle)
    recon = cat.read(spark, "ingest_reconciliation", cycle).toPandas()
    files = cat.read(spark, "ingest_files", cycle).toPandas()
    by_reason = reasons.toPandas().sort_values(["source", "rows"], ascending=[True, False])
    lines = [f"# Ingest quality report, cycle {cycle}", "",
             "| source | files | rejected files | rows in | accepted | quarantined | quarantined % | balanced |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for src, g in recon.groupby("source"):
        rin, acc, qua = g["rows_in"].sum(), g["rows_accepted"].sum(), g["rows_quarantined"].sum()
        lines.append(f"| {src} | {len(g)} | {(g['status'] == 'rejected').sum()} | {rin:,} | {acc:,} | {qua:,} | "
                     f"{(qua / rin * 100 if rin else 0):.2f} | {'yes' if g['balanced'].all() else 'NO'} |")
    lines += ["", "## Reasons", "", "| source | reason | rows |", "|---|---|---:|"]
    lines += [f"| {r.source} | {r.reason} | {r.rows:,} |" for r in by_reason.itertuples()]
    rejected = files[files["status"] == "rejected"]
    if len(rejected):
        lines += ["", "## Rejected files", "", "| source | file | reason | message |", "|---|---|---|---|"]
        lines += [f"| {r.source} | {r.file_name} | {r.reason} | {r.message} |" for r in rejected.itertuples()]
    drift_rows = [(cycle, r.source, r.file_name, kind, col) for r in files.itertuples()
                  for kind, col in json.loads(r.drift or "[]")]
    if drift_rows:
        cat.write(spark.createDataFrame(drift_rows, "cycle string, source string, file_name string, kind string, "
                                        "`column` string"), "ingest_schema_drift", cycle=cycle)
    drift = files[files["drift"].fillna("[]") != "[]"]
    if len(drift):
        lines += ["", "## Schema drift", "", "| source | file | drift |", "|---|---|---|"]
        lines += [f"| {r.source} | {r.file_name} | {r.drift} |" for r in drift.itertuples()]
    path = os.path.join(cat.root, "reports", cycle, "ingest_quality.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


__all__ = ["ingest", "land", "refine", "reconcile", "quality_report", "ReconciliationError"]
