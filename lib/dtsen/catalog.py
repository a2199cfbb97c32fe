"""The data catalog: every table named once in conf/ (catalog.yml), read and written through here.

Writes are idempotent per cycle: writing a cycle replaces exactly that cycle's rows (Delta
`replaceWhere`), so a rerun never duplicates and earlier cycles stay as they were (and in history).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession

from dtsen.config import Config, ConfigError, resolve_path


@dataclass(frozen=True)
class TableSpec:
    name: str
    path: str
    partition_by: tuple[str, ...]


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
        return TableSpec(name, self._join(entry["path"]), tuple(entry.get("partition_by", [])))

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

    def write(self, df: DataFrame, name: str, *, cycle: str | None = None, mode: str = "cycle") -> None:
        """mode='cycle': replace exactly this cycle's rows; 'overwrite': replace the table."""
        spec = self.spec(name)
        writer = df.write.format("delta")
        if spec.partition_by:
            writer = writer.partitionBy(*spec.partition_by)
        if mode == "cycle":
            if cycle is None or "cycle" not in df.columns:
                raise ValueError(f"writing '{name}' per cycle needs a 'cycle' column and cycle=")
            writer = writer.mode("overwrite").option("replaceWhere", f"cycle = '{cycle}'")
        elif mode == "overwrite":
            writer = writer.mode("overwrite").option("overwriteSchema", "true")
        else:
            raise ValueError(f"unknown write mode {mode}")
        writer.save(spec.path)
