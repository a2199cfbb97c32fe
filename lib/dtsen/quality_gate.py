"""`dtsen quality-gate`: stop a cycle between ingest and resolve when its feeds cannot be trusted.

Reads the cycle's ingest reconciliation (one row per delivered file, written by `dtsen ingest`) and
checks it against `quality_gate:` in conf: every file reconciles, every required source delivered,
no source quarantines or loses more than its limit. The figures are per source, so a message names
the source, the figure and the limit: ops know which agency to call. The gate first writes the
cycle's ingest quality report (all sources: one-source ingest runs leave it to the gate); its
decision goes next to it (`reports/<cycle>/quality_gate.json`).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

import pandas as pd
from pyspark.sql import SparkSession

from dtsen.catalog import Catalog
from dtsen.config import Config, ConfigError
from dtsen.contracts import sources
from dtsen.cycles import parse_cycle
from dtsen.ingest.job import quality_report

RECONCILIATION, THRESHOLD = "reconciliation", "threshold"
EXIT_CODES = {RECONCILIATION: 3, THRESHOLD: 4}


@dataclass(frozen=True)
class Breach:
    kind: str                 # reconciliation | threshold
    source: str
    figure: str               # e.g. quarantine_share, rejected_file_share, files_unbalanced, files_ingested
    value: float
    limit: float
    detail: str = ""

    def message(self) -> str:
        if self.kind == RECONCILIATION:
            return f"{self.source}: {self.figure} = {self.value:g} (must be {self.limit:g}); {self.detail}"
        return (f"{self.source}: {self.figure} = {self.value:.4g} breaks the limit {self.limit:.4g}"
                + (f"; {self.detail}" if self.detail else ""))


class GateFailed(RuntimeError):
    """The cycle must not go on; `exit_code` is 3 for a reconciliation break, else 4."""

    def __init__(self, cycle: str, breaches: list[Breach]) -> None:
        self.cycle, self.breaches = cycle, breaches
        kinds = {b.kind for b in breaches}
        self.exit_code = EXIT_CODES[RECONCILIATION if RECONCILIATION in kinds else THRESHOLD]
        what = "reconciliation break" if RECONCILIATION in kinds else "data-quality threshold break"
        super().__init__(f"quality gate failed for cycle {cycle} ({what}):\n  "
                         + "\n  ".join(b.message() for b in breaches))


@dataclass(frozen=True)
class Rules:
    required_sources: tuple[str, ...]
    max_quarantine_share: float
    max_quarantine_share_by_source: dict[str, float]
    max_rejected_file_share: float

    @classmethod
    def from_conf(cls, conf: Config) -> Rules:
        g = conf.section("quality_gate")
        known = sources(conf)
        required = known if g.get("required_sources", "all") == "all" else list(g["required_sources"])
        unknown = sorted(set(required) - set(known)) + sorted(set(g.get("max_quarantine_share_by_source") or {})
                                                            - set(known))
        if unknown:
            raise ConfigError(f"quality_gate names unknown source(s) {unknown} (contracts: {', '.join(known)})")
        return cls(tuple(required), float(g["max_quarantine_share"]),
                   {k: float(v) for k, v in (g.get("max_quarantine_share_by_source") or {}).items()},
                   float(g["max_rejected_file_share"]))


def source_figures(recon: pd.DataFrame) -> pd.DataFrame:
    """Per source, from the per-file reconciliation: files, rejected files, rows in / accepted /
    quarantined, unbalanced files, and the two shares the gate limits."""
    if recon.empty:
        return pd.DataFrame(columns=["source", "files", "files_rejected", "files_unbalanced", "rows_in",
                                     "rows_accepted", "rows_quarantined", "quarantine_share",
                                     "rejected_file_share"])
    r = recon.assign(rejected=(recon["status"] == "rejected").astype(int), unbalanced=(~recon["balanced"]).astype(int))
    g = r.groupby("source", as_index=False).agg(
        files=("file_name", "count"), files_rejected=("rejected", "sum"), files_unbalanced=("unbalanced", "sum"),
        rows_in=("rows_in", "sum"), rows_accepted=("rows_accepted", "sum"),
        rows_quarantined=("rows_quarantined", "sum"))
    g["quarantine_share"] = (g["rows_quarantined"] / g["rows_in"].where(g["rows_in"] > 0)).fillna(0.0)
    g["rejected_file_share"] = g["files_rejected"] / g["files"]
    return g.sort_values("source").reset_index(drop=True)


def check(recon: pd.DataFrame, rules: Rules) -> list[Breach]:
    """All breaches of the rules in one cycle's reconciliation (empty list: the gate passes)."""
    out: list[Breach] = []
    for f in recon[~recon["balanced"]].sort_values(["source", "file_name"]).itertuples():
        out.append(Breach(RECONCILIATION, f.source, "rows_in - accepted - quarantined",
                          int(f.rows_in - f.rows_accepted - f.rows_quarantined), 0,
                          f"file {f.file_name}: read {f.rows_read}, in bronze {f.rows_in}, accepted "
                          f"{f.rows_accepted}, quarantined {f.rows_quarantined}"))
    figures = source_figures(recon).set_index("source")
    for source in rules.required_sources:
        f = figures.loc[source] if source in figures.index else None
        if f is None or f["files"] == f["files_rejected"]:
            out.append(Breach(THRESHOLD, source, "files_ingested", 0, 1,
                              "a required source delivered no readable file this cycle"))
    for source, f in figures.iterrows():
        limit = rules.max_quarantine_share_by_source.get(source, rules.max_quarantine_share)
        if f["quarantine_share"] > limit:
            out.append(Breach(THRESHOLD, source, "quarantine_share", float(f["quarantine_share"]), limit,
                              f"{int(f['rows_quarantined']):,} of {int(f['rows_in']):,} rows quarantined"))
        if f["rejected_file_share"] > rules.max_rejected_file_share:
            out.append(Breach(THRESHOLD, source, "rejected_file_share", float(f["rejected_file_share"]),
                              rules.max_rejected_file_share,
                              f"{int(f['files_rejected'])} of {int(f['files'])} files rejected"))
    return out


def quality_gate(spark: SparkSession, conf: Config, *, cycle: str) -> dict:
    """Check the cycle; write the decision as JSON beside the quality report; raise GateFailed on a break."""
    parse_cycle(cycle)
    rules = Rules.from_conf(conf)
    cat = Catalog(conf)
    report = None
    if all(cat.exists(spark, t) for t in ("ingest_reconciliation", "ingest_files", "quarantine")):
        # the cycle's ingest quality report, all sources together: the DAG's one-source ingest tasks
        # leave it to this step, and ops need it most when the gate fails
        report = quality_report(spark, cat, cycle)
    if cat.exists(spark, "ingest_reconciliation"):
        recon = cat.read(spark, "ingest_reconciliation", cycle).toPandas()
    else:
        recon = pd.DataFrame(columns=["source", "file_name", "status", "balanced", "rows_read", "rows_in",
                                      "rows_accepted", "rows_quarantined"])
    breaches = check(recon, rules)
    figures = source_figures(recon)
    summary = {"cycle": cycle, "passed": not breaches, "rules": asdict(rules),
               "sources": json.loads(figures.to_json(orient="records")),
               "breaches": [asdict(b) for b in breaches], "quality_report": report}
    path = os.path.join(cat.root, "reports", cycle, "quality_gate.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=2)
    summary["report"] = path
    if breaches:
        raise GateFailed(cycle, breaches)
    return summary


__all__ = ["quality_gate", "check", "source_figures", "Rules", "Breach", "GateFailed"]
