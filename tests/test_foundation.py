"""Config, cycles, catalog and session factory: the parts every job stands on."""
from __future__ import annotations

import os
import stat

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from dtsen.catalog import Catalog
from dtsen.config import ConfigError, load_config
from dtsen.cycles import parse_cycle
from dtsen.regions import counts


def test_missing_key_names_the_key_and_files(conf):
    with pytest.raises(ConfigError, match=r"generator\.nope.*conf/base/generator\.yml"):
        conf.get("generator.nope")


def test_env_reference_without_default_is_a_config_error(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "a.yml").write_text("catalog: {lake_root: '${DTSEN_SURELY_UNSET_VAR}'}\n")
    with pytest.raises(ConfigError, match="DTSEN_SURELY_UNSET_VAR"):
        load_config("base", root=tmp_path)


def test_unknown_environment_is_rejected(tmp_path):
    (tmp_path / "base").mkdir()
    with pytest.raises(ConfigError, match="unknown environment 'prod'"):
        load_config("prod", root=tmp_path)


def test_overlay_overrides_base(conf):
    assert conf.get("spark.profile") == "test"                     # conf/test over conf/base
    assert conf.get("spark.master") == "local[2]"                  # untouched base value


@pytest.mark.parametrize("text,ref,months", [("2026H1", "2026-01-01", 6), ("2026H2", "2026-07-01", 6),
                                             ("2027Q3", "2027-07-01", 3)])
def test_cycle_parsing(text, ref, months):
    c = parse_cycle(text)
    assert (str(c.reference_date), c.months, c.id) == (ref, months, text)


@pytest.mark.parametrize("bad", ["2026", "2026H3", "26H1", "2026Q5", ""])
def test_bad_cycle_ids_are_config_errors(bad):
    with pytest.raises(ConfigError, match="bad cycle id"):
        parse_cycle(bad)


def test_region_hierarchy_is_kemendagri_2025():
    assert counts() == {"provinces": 38, "regencies": 514, "districts": 7285, "villages": 83762}


def test_catalog_write_replaces_only_that_cycle(spark, conf):
    cat = Catalog(conf.with_overrides({"catalog": {"tables": {"t_demo": {"path": "scratch/t_demo",
                                                                          "partition_by": ["cycle"]}}}}))
    a = spark.createDataFrame([(1, "2026H1"), (2, "2026H1")], "k int, cycle string")
    b = spark.createDataFrame([(3, "2026H2")], "k int, cycle string")
    cat.write(a, "t_demo", cycle="2026H1")
    cat.write(b, "t_demo", cycle="2026H2")
    cat.write(a.where("k = 1"), "t_demo", cycle="2026H1")            # rerun of H1 with other content
    got = cat.read(spark, "t_demo").orderBy("k")
    assertDataFrameEqual(got, spark.createDataFrame([(1, "2026H1"), (3, "2026H2")], "k int, cycle string"))
    assert cat.read(spark, "t_demo", version=1).where(F.col("cycle") == "2026H2").count() == 1


def _file_stats(path: str) -> list[dict]:
    """The per-file statistics of every file the table's log added, as Delta wrote them."""
    import glob
    import json

    out = []
    for name in sorted(glob.glob(os.path.join(path, "_delta_log", "*.json"))):
        with open(name) as fh:
            out += [json.loads(a["add"]["stats"]) for a in map(json.loads, fh) if "add" in a]
    return out


def test_statistics_are_kept_only_on_the_configured_columns(spark, conf):
    def catalog(stats):
        entry = {"path": "scratch/t_stats", "partition_by": ["cycle"]}
        return Catalog(conf.with_overrides({"catalog": {"tables": {"t_stats": {**entry, **stats}}}}))

    df = spark.createDataFrame([(1, "a", "x", "2026H1"), (2, "b", "y", "2026H1")],
                               "k int, source string, token string, cycle string").coalesce(1)
    cat = catalog({"stats_columns": ["source"]})
    cat.write(df, "t_stats", cycle="2026H1")
    first = _file_stats(cat.path("t_stats"))[-1]
    assert first["numRecords"] == 2
    assert set(first["minValues"]) == {"source"} and first["minValues"]["source"] == "a"
    assert cat.align_properties(spark, ["t_stats"]) == []             # already as configured

    none = catalog({"stats_columns": []})                               # the catalog entry changes
    assert none.align_properties(spark, ["t_stats"]) == ["t_stats"]
    none.write(df, "t_stats", cycle="2026H1")
    after = _file_stats(cat.path("t_stats"))[-1]
    assert after["numRecords"] == 2 and not after.get("minValues")
    default = catalog({})                                               # back to Delta's default: all columns
    assert default.align_properties(spark, ["t_stats"]) == ["t_stats"]
    default.write(df, "t_stats", cycle="2026H1")
    assert set(_file_stats(cat.path("t_stats"))[-1]["minValues"]) == {"k", "source", "token"}


def test_bad_statistics_columns_are_a_config_error(conf):
    cat = Catalog(conf.with_overrides({"catalog": {"tables": {"t_bad": {"path": "x", "stats_columns": "source"}}}}))
    with pytest.raises(ConfigError, match="stats_columns must be a list"):
        cat.spec("t_bad")


def test_unknown_table_is_a_config_error(conf):
    with pytest.raises(ConfigError, match="not in the catalog"):
        Catalog(conf).path("no_such_table")


def test_old_java_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    from dtsen.spark import EnvironmentProblem, check_java

    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(EnvironmentProblem, match="Java 11 found; Spark 4 needs Java 17"):
        check_java()


def test_missing_java_is_refused(tmp_path, monkeypatch):
    from dtsen.spark import EnvironmentProblem, check_java

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(EnvironmentProblem, match="Java not found"):
        check_java()


def _fake_jdk(root, name: str, version: str) -> str:
    home = root / name
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f'#!/bin/sh\necho \'openjdk version "{version}" 2025-09-16\' >&2\n')
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return str(home)


def test_auto_java_takes_the_newest_jdk_spark_supports(tmp_path, monkeypatch):
    from dtsen.spark import choose_java

    _fake_jdk(tmp_path, "jdk-11", "11.0.2")
    _fake_jdk(tmp_path, "jdk-17", "17.0.15")
    want = _fake_jdk(tmp_path, "temurin-25", "25.0.1")
    _fake_jdk(tmp_path, "jdk-26", "26-ea")            # newer than Spark supports
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    choose_java("auto", roots=(str(tmp_path),))
    assert os.environ["JAVA_HOME"] == want


def test_an_operators_java_home_wins_and_a_wrong_one_in_conf_is_named(tmp_path, monkeypatch):
    from dtsen.spark import choose_java

    mine = _fake_jdk(tmp_path, "jdk-17", "17.0.15")
    _fake_jdk(tmp_path, "temurin-25", "25.0.1")
    monkeypatch.setenv("JAVA_HOME", mine)
    choose_java("auto", roots=(str(tmp_path),))
    assert os.environ["JAVA_HOME"] == mine
    monkeypatch.delenv("JAVA_HOME")
    with pytest.raises(ConfigError, match="spark.java_home"):
        choose_java(str(tmp_path / "nowhere"))


def test_the_local_jvm_runs_with_its_jobs_jit_directives(spark, conf):
    from dtsen.config import resolve_path

    args = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    path = resolve_path(conf.get("spark.jit_directives")["tests"])
    assert path.endswith(".json") and f"-XX:CompilerDirectivesFile={path}" in args
    # the JVM's own notices go to stderr, so a job's --json summary stays the only thing on stdout
    assert "-XX:+DisplayVMOutputToStderr" in args
    assert conf.get("spark.jit_directives")["ingest"] == conf.get("spark.jit_directives")["tests"]


def test_a_wrong_jit_directives_file_stops_the_run_with_the_jvms_reason(spark, tmp_path):
    """`spark` first: its session chose the JDK (JAVA_HOME) that checks the file."""
    from dtsen.spark import jit_directive_options

    assert jit_directive_options(None, "ingest") == "" and jit_directive_options({"resolve": "x.json"}, "ingest") == ""
    with pytest.raises(ConfigError, match=r"spark.jit_directives.ingest .*no such file"):
        jit_directive_options({"ingest": str(tmp_path / "none.json")}, "ingest")
    with pytest.raises(ConfigError, match="must map job names"):
        jit_directive_options("a.json", "ingest")
    bad = tmp_path / "bad.json"
    bad.write_text('[{"match": "not a method pattern", "c2": {"Exclude": true}}]')
    with pytest.raises(ConfigError, match=r"(?s)not a compiler directives file.*Method pattern"):
        jit_directive_options({"ingest": str(bad)}, "ingest")
    good = tmp_path / "with space" / "c1.json"
    good.parent.mkdir()
    good.write_text('[{"match": ["org/example/Gen*.*"], "c2": {"Exclude": true}}]')
    assert jit_directive_options({"ingest": str(good)}, "ingest") == (
        f'-XX:+UnlockDiagnosticVMOptions "-XX:CompilerDirectivesFile={good}" -XX:+DisplayVMOutputToStderr')


def test_delta_is_really_in_use(spark, tmp_path):
    path = str(tmp_path / "d")
    spark.range(3).write.format("delta").save(path)
    assert os.path.isdir(os.path.join(path, "_delta_log"))
    assert spark.read.format("delta").load(path).count() == 3
