"""The data catalog: every table named once in conf/ (catalog.yml), read and written through here.

Writes are idempotent per cycle: writing a cycle replaces exactly that cycle's rows (Delta
`replaceWhere`), so a rerun never duplicates and earlier cycles stay as they were (and in history).

A table's `stats_columns` (catalog.yml) names the columns Delta keeps per-file minimum / maximum
statistics for (data skipping); left out, Delta's default (the first 32 columns). The setting is a
table property fixed when the table is created; `align_properties` applies a changed one to a table
that exists.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from pyspark.sql import DataFrame, DataFrameWriter, SparkSession

from dtsen.config import Config, ConfigError, resolve_path

STATS_PROPERTIES = ("delta.dataSkippingStatsColumns", "delta.dataSkippingNumIndexedCols")


@dataclass(frozen=True)
class TableSpec:
    name: str
    path: str
    partition_by: tuple[str, ...]
    stats_columns: tuple[str, ...] | None = None

    def properties(self) -> dict[str, str]:
        """The Delta table properties this spec sets (none when the table keeps Delta's defaults)."""
        if self.stats_columns is None:
            return {}
        if not self.stats_columns:
            return {"delta.dataSkippingNumIndexedCols": "0"}
        return {"delta.dataSkippingStatsColumns": ",".join(self.stats_columns)}


class Catalog:
    def __init__(self, conf: Config) -> None:
        self.conf = conf
        self.root = resolve_path(conf.get("catalog.lake_root"))
        self._tables = conf.section("catalog.tables")

    def spec(self, name: str) -> TableSpec:
        if name not in self._tables:
            raise ConfigError(f"table '{name}' is not in the catalog (conf/base/catalog.yml: catalog.tables)")
        entry = self._tables[name] or {}
        if "path" not in entry:
            raise ConfigError(f"catalog table '{name}' has no 'path'")
        stats = entry.get("stats_columns")
        if stats is not None and (not isinstance(stats, list) or not all(isinstance(c, str) for c in stats)):
            raise ConfigError(f"catalog table '{name}': stats_columns must be a list of column names, got {stats!r}")
        return TableSpec(name, self._join(entry["path"]), tuple(entry.get("partition_by", [])),
                         None if stats is None else tuple(stats))

    def _join(self, rel: str) -> str:
        return rel if "://" in rel or os.path.isabs(rel) else f"{self.root.rstrip('/')}/{rel}"

    def path(self, name: str) -> str:
        return self.spec(name).path

    def landing_dir(self, cycle: str, source: str | None = None) -> str:
        base = self._join(f"{self.conf.get('catalog.landing')}/{cycle}")
        return f"{base}/{source}" if source else base

    def publish_dir(self, cycle: str) -> str:
        return self._join(f"{self.conf.get('catalog.publish')}/{cycle}")

    def staging_dir(self, job: str, cycle: str) -> str:
        return self._join(f"{self.conf.get('catalog.staging')}/{job}/{cycle}")

    def exists(self, spark: SparkSession, name: str) -> bool:
        from delta.tables import DeltaTable

        return DeltaTable.isDeltaTable(spark, self.path(name))

    def read(self, spark: SparkSession, name: str, cycle: str | None = None,
             version: int | None = None) -> DataFrame:
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        df = reader.load(self.path(name))
        return df.where(df["cycle"] == cycle) if cycle is not None else df

    def writer(self, df: DataFrame, name: str) -> DataFrameWriter:
        """A Delta writer for the table: its partitioning, and its properties should the write create it
        (Delta keeps `delta.`-prefixed options as table properties on a new table, ignores them after)."""
        spec = self.spec(name)
        writer = df.write.format("delta").options(**spec.properties())
        return writer.partitionBy(*spec.partition_by) if spec.partition_by else writer

    def align_properties(self, spark: SparkSession, names: list[str]) -> list[str]:
        """Give the existing tables among `names` the statistics properties their catalog entry sets
        now (a table made before the entry changed); returns the tables altered. Files written from then
        on follow the new setting."""
        altered = []
        for name in names:
            spec = self.spec(name)
            if not self.exists(spark, name):
                continue
            have = {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES delta.`{spec.path}`").collect()}
            want = spec.properties()
            stale = any(have.get(k) != v for k, v in want.items())
            drop = [k for k in STATS_PROPERTIES if k in have and k not in want]
            if stale:
                props = ", ".join(f"'{k}' = '{v}'" for k, v in want.items())
                spark.sql(f"ALTER TABLE delta.`{spec.path}` SET TBLPROPERTIES ({props})")
            if drop:
                spark.sql(f"ALTER TABLE delta.`{spec.path}` UNSET TBLPROPERTIES ({', '.join(repr(k) for k in drop)})")
            if stale or drop:
                altered.append(name)
        return altered

    def write(self, df: DataFrame, name: str, *, cycle: str | None = None, mode: str = "cycle") -> None:
        """mode='cycle': replace exactly this cycle's rows; 'overwrite': replace the table."""
        spec = self.spec(name)
        writer = self.writer(df, name)
        if mode == "cycle":
            if cycle is None or "cycle" not in df.columns:
                raise ValueError(f"writing '{name}' per cycle needs a 'cycle' column and cycle=")
            writer = writer.mode("overwrite").option("replaceWhere", f"cycle = '{cycle}'")
        elif mode == "overwrite":
            writer = writer.mode("overwrite").option("overwriteSchema", "true")
        else:
            raise ValueError(f"unknown write mode {mode}")
        writer.save(spec.path)
