"""DAG integrity, checked by Airflow itself: dags/ parses in .venv-airflow without import errors
and without importing pyspark; dtsen_cycle and dtsen_retrain have the stages in the documented
order, every task spark-submits its job with the jobs venv's Spark and Python; the schedule is
half-yearly (quarterly by DTSEN_CYCLE_PERIOD) and the cycle id follows the data interval."""
from __future__ import annotations

import json
from pathlib import Path

import airflow_env as setup
import pytest
from airflow_env import AIRFLOW_PY, DAGS, JOBS_VENV, ROOT, airflow_env, migrate, run

SOURCES = sorted(p.stem for p in (ROOT / "conf" / "base" / "contracts").glob("*.yml"))
CHAIN = ["quality_gate", "resolve", "profile", "score", "allocate", "publish", "summary"]


def _structure(home: Path, **env: str) -> dict:
    got = run([str(AIRFLOW_PY), str(Path(__file__).with_name("dag_structure.py")), str(DAGS)],
              airflow_env(home, **env), timeout=300)
    line = next(x for x in got.stdout.splitlines() if x.startswith("DAG-STRUCTURE "))
    return json.loads(line.removeprefix("DAG-STRUCTURE "))


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    migrate(home, airflow_env(home))
    return home


@pytest.fixture(scope="module")
def half(home) -> dict:
    return _structure(home)


def test_dags_parse_without_errors_or_pyspark(half):
    assert half["import_errors"] == {}
    assert sorted(half["dags"]) == ["dtsen_cycle", "dtsen_retrain"]
    assert half["pyspark_imported"] == []


def test_cycle_dag_runs_the_stages_in_order(half):
    tasks = half["dags"]["dtsen_cycle"]["tasks"]
    assert sorted(tasks) == sorted([f"ingest_{s}" for s in SOURCES] + CHAIN)
    for s in SOURCES:                      # one ingest per agency, side by side, all into the gate
        assert tasks[f"ingest_{s}"]["downstream"] == ["quality_gate"]
        assert tasks[f"ingest_{s}"]["args"][-2:] == ["--source", s]
        assert tasks[f"ingest_{s}"]["application"] == str(ROOT / "jobs" / "ingest.py")
    for up, down in zip(CHAIN, CHAIN[1:]):
        assert tasks[up]["downstream"] == [down]
    assert tasks["summary"]["downstream"] == []
    retrain = half["dags"]["dtsen_retrain"]
    assert {t: v["downstream"] for t, v in retrain["tasks"].items()} == {"train": ["promote"], "promote": []}
    assert retrain["schedule"] is None


def test_no_job_script_shadows_a_standard_module():
    """spark-submit puts jobs/ first on sys.path: a jobs/profile.py would replace the standard
    `profile` module (cProfile imports it) and break every job's import of dtsen."""
    import sys

    assert {p.stem for p in (ROOT / "jobs").glob("*.py")} & set(sys.stdlib_module_names) == set()


def test_every_task_submits_its_job_into_the_jobs_venv(half, home):
    site = next((JOBS_VENV / "lib").glob("python3*/site-packages"))
    for dag in half["dags"].values():
        for task_id, t in dag["tasks"].items():
            assert t["operator"] == "SparkSubmitOperator" and t["conn_id"] == "spark_default"
            assert Path(t["application"]).is_file(), f"{task_id}: {t['application']} missing"
            assert t["spark_binary"] == str(JOBS_VENV / "bin" / "spark-submit")
            env = t["env_vars"]
            assert env["SPARK_HOME"] == str(site / "pyspark") and env["PYSPARK_PYTHON"] == str(JOBS_VENV / "bin/python")
            assert env["PYTHONPATH"] == str(ROOT / "lib") and env["SPARK_LOCAL_IP"] == "127.0.0.1"
            assert "dtsen_lake" in env["DTSEN_LAKE"] and "dtsen_env" in env["DTSEN_ENV"]
            jars = t["jars"].split(",")
            assert any(Path(j).name.startswith("delta-spark_") for j in jars) and all(Path(j).is_file() for j in jars)
            assert sum("scala-udf-similarity" in j for j in jars) == 1
            assert t["trigger_rule"] == "none_failed"
            # DTSEN_JAVA_OPTIONS (set by airflow_env) reaches the driver and the executors, except
            # where DTSEN_JAVA_OPTIONS_<STAGE> gives the stage its own; DTSEN_JAVA_HOME becomes JAVA_HOME
            conf, long = t["conf"], task_id in setup.LONG_STAGES
            want = setup.with_class_archive(setup.SMALL_JVM if long else setup.SHORT_JVM,
                                            home.parent / ("jvm-small.jsa" if long else "jvm-short.jsa"))
            assert conf["spark.driver.extraJavaOptions"] == conf["spark.executor.extraJavaOptions"], task_id
            assert conf["spark.driver.extraJavaOptions"] == want, task_id
            assert env.get("JAVA_HOME") == (setup.jobs_java_home() or None)
            assert t["conf"]["spark.driver.memory"] == "2g"


def test_half_yearly_schedule_and_cycle_ids(half):
    dag = half["dags"]["dtsen_cycle"]
    assert (dag["timetable"], dag["schedule"]) == ("CronTriggerTimetable", "0 0 1 1,7 *")
    # a trigger timetable: the data interval of a run is its logical date, the first day of the cycle
    assert [(r["start"][:10], r["end"][:10]) for r in dag["runs"]] == [("2026-01-01", "2026-01-01"),
                                                                         ("2026-07-01", "2026-07-01")]
    assert [r["args"] for r in dag["runs"]] == [["--cycle", "2026H1"], ["--cycle", "2026H2"]]
    assert dag["override_args"] == ["--cycle", "2025H2"]


def test_quarterly_setting(home):
    """Also: without DTSEN_JAVA_OPTIONS the jobs keep the JVM's defaults."""
    dag = _structure(home, DTSEN_CYCLE_PERIOD="quarter", DTSEN_JAVA_OPTIONS="", DTSEN_JAVA_OPTIONS_RESOLVE="",
                     DTSEN_JAVA_HOME="")["dags"]["dtsen_cycle"]
    assert not any("extraJavaOptions" in k for t in dag["tasks"].values() for k in t["conf"])
    assert not any("JAVA_HOME" in t["env_vars"] for t in dag["tasks"].values())
    assert dag["schedule"] == "0 0 1 1,4,7,10 *"
    assert [r["start"][:10] for r in dag["runs"]] == ["2026-01-01", "2026-04-01"]
    assert [r["args"] for r in dag["runs"]] == [["--cycle", "2026Q1"], ["--cycle", "2026Q2"]]
