"""The data-quality gate: passes on the suite's honestly ingested cycle, and stops a cycle with exit 3
(a file that does not reconcile) or exit 4 (a source over its limit, or a required source missing)
with a message that names the source, the figure and the limit."""
from __future__ import annotations

import json
import shutil
from datetime import datetime

import pandas as pd
import pytest

from dtsen.cli import main
from dtsen.config import PROJECT_ROOT
from dtsen.contracts import sources
from dtsen.quality_gate import RECONCILIATION, THRESHOLD, Rules, check, source_figures

CYCLE = "2026H1"


@pytest.fixture(scope="module")
def ingested(ingested_cycles, spark, cat):
    """The reconciliation of the suite's 2026H1 feeds, ingested once for the suite (tests/conftest.py)."""
    return cat.read(spark, "ingest_reconciliation", CYCLE).toPandas()


def _recon(rows: list[tuple]) -> pd.DataFrame:
    """Hand-built reconciliation rows: (source, file_name, status, rows_in, accepted, quarantined)."""
    df = pd.DataFrame(rows, columns=["source", "file_name", "status", "rows_in", "rows_accepted", "rows_quarantined"])
    df["rows_read"] = df["rows_in"]
    df["balanced"] = df["rows_in"] == df["rows_accepted"] + df["rows_quarantined"]
    return df


RULES = Rules(("a", "b"), 0.05, {"b": 0.20}, 0.5)


def test_figures_and_limits_per_source():
    recon = _recon([("a", "a1", "ok", 100, 90, 10), ("a", "a2", "ok", 100, 100, 0),
                    ("b", "b1", "ok", 100, 85, 15), ("b", "b2", "rejected", 0, 0, 0)])
    fig = source_figures(recon).set_index("source")
    assert fig.loc["a", "quarantine_share"] == pytest.approx(0.05)
    assert fig.loc["b", "quarantine_share"] == pytest.approx(0.15)
    assert fig.loc["b", "rejected_file_share"] == pytest.approx(0.5)
    # a at exactly its limit and b under its own (looser) limit pass; the limits are "at most"
    assert check(recon, RULES) == []
    over = check(recon, Rules(("a", "b"), 0.049, {}, 0.4))
    assert {(b.source, b.figure) for b in over} == {("a", "quarantine_share"), ("b", "quarantine_share"),
                                                     ("b", "rejected_file_share")}
    assert all(b.kind == THRESHOLD for b in over)


def test_unbalanced_file_and_missing_source_are_named():
    recon = _recon([("a", "a1", "ok", 100, 97, 2)])
    got = check(recon, RULES)
    assert [(b.kind, b.source, b.figure) for b in got] == [
        (RECONCILIATION, "a", "rows_in - accepted - quarantined"), (THRESHOLD, "b", "files_ingested")]
    assert "a1" in got[0].message() and got[0].value == 1
    # a source whose only file was rejected delivered nothing usable either
    assert [b.figure for b in check(_recon([("a", "a1", "ok", 10, 10, 0), ("b", "b1", "rejected", 0, 0, 0)]),
                                    Rules(("a", "b"), 0.05, {}, 1.0))] == ["files_ingested"]


def test_gate_passes_on_the_ingested_cycle(ingested, conf, capsys):
    assert ingested["balanced"].all() and set(ingested["source"]) == set(sources(conf))
    assert main(["quality-gate", "--cycle", CYCLE, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["passed"] and out["breaches"] == []
    by_source = {f["source"]: f for f in out["sources"]}
    assert set(by_source) == set(sources(conf))
    for src, g in ingested.groupby("source"):
        assert by_source[src]["rows_in"] == g["rows_in"].sum()
        assert by_source[src]["quarantine_share"] == pytest.approx(g["rows_quarantined"].sum() / g["rows_in"].sum())
    with open(out["report"]) as fh:
        assert json.load(fh)["passed"] is True


def test_strict_limit_stops_the_cycle_with_exit_4(ingested, tmp_path, monkeypatch, capsys):
    """The same lake under an overlay with a 0.1% quarantine limit: the gate names every source over
    it with its share and the limit."""
    root = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", root)
    (root / "strict").mkdir()
    for f in (root / "test").glob("*.yml"):
        shutil.copy(f, root / "strict" / f.name)
    (root / "strict" / "quality_gate.yml").write_text("quality_gate:\n  max_quarantine_share: 0.001\n"
                                                      "  max_rejected_file_share: 1.0\n")
    monkeypatch.setenv("DTSEN_CONF", str(root))
    assert main(["--env", "strict", "quality-gate", "--cycle", CYCLE]) == 4
    err = capsys.readouterr().err
    assert "data-quality threshold break" in err
    shares = ingested.groupby("source").apply(lambda g: g["rows_quarantined"].sum() / g["rows_in"].sum(),
                                              include_groups=False)
    over = shares[shares > 0.001]
    assert len(over) > 0
    for src, share in over.items():
        assert f"{src}: quarantine_share = {share:.4g} breaks the limit 0.001" in err
    for src in shares[shares <= 0.001].index:
        assert f"{src}: quarantine_share" not in err


def test_reconciliation_break_exits_3(spark, conf, tmp_path, monkeypatch, capsys):
    """A tiny lake whose reconciliation holds one file that lost a row: exit 3, naming source and file."""
    monkeypatch.setenv("DTSEN_LAKE", str(tmp_path / "lake"))
    from dtsen.catalog import Catalog
    from dtsen.config import load_config

    tiny = Catalog(load_config("test"))
    rows = [(s, f"{s}_001.csv", "ok", 100, 95, 5) for s in sources(conf)]
    rows[0] = (rows[0][0], rows[0][1], "ok", 100, 95, 4)
    recon = _recon(rows).assign(cycle=CYCLE, checked_at=datetime(2026, 1, 1))
    tiny.write(spark.createDataFrame(recon), "ingest_reconciliation", cycle=CYCLE)
    assert main(["quality-gate", "--cycle", CYCLE]) == 3
    err = capsys.readouterr().err
    assert "reconciliation break" in err
    assert f"{rows[0][0]}: rows_in - accepted - quarantined = 1 (must be 0); file {rows[0][1]}" in err
    # and a cycle nobody ingested fails on every required source, exit 4
    assert main(["quality-gate", "--cycle", "2026H2"]) == 4
    err = capsys.readouterr().err
    assert all(f"{s}: files_ingested = 0" in err for s in sources(conf))
