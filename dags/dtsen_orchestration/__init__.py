"""What both DTSEN DAGs share: where the jobs venv, the jobs and the jars are, the cycle id, and the
task factory. Cheap at parse time: environment, globs and string work only, no pyspark, no dtsen
import (the jobs' code lives in another venv and is reached by spark-submit).

Settings (environment of the Airflow processes, read when the DAG file is parsed; defaults derive
from the repository this folder lives in):
  DTSEN_ROOT          repository root (jobs/, lib/, conf/, .jars/)       default: parent of dags/
  DTSEN_JOBS_VENV     venv with pyspark + dtsen (spark-submit, python)    default: <root>/.venv
  DTSEN_CONF          conf folder (base/ + overlays)                      default: <root>/conf
  DTSEN_CYCLE_PERIOD  half (two cycles a year, default) | quarter
  DTSEN_RETRAIN_SCHEDULE  cron for dtsen_retrain                          default: none (by hand)
  DTSEN_TASK_RETRIES  retries per task                                    default: 2
  DTSEN_DRIVER_MEMORY spark.driver.memory of each job                     default: 2g
  DTSEN_JAVA_HOME     JDK that spark-submit runs the jobs on (JAVA_HOME)  default: the worker's own
  DTSEN_JAVA_OPTIONS  extra JVM options of each job's driver and executors  default: none
  DTSEN_JAVA_OPTIONS_<STAGE>  the same for one stage (INGEST, RESOLVE, ...), instead of the above
Read when a task runs (Airflow Variable first, then the environment, then the default):
  dtsen_lake / DTSEN_LAKE    lake root (local path or s3a://...)          default: <root>/lake
  dtsen_env  / DTSEN_ENV     conf overlay (conf/<env>/)                   default: local
The Spark master comes from the Airflow connection `spark_default` (JSON form, see dags/README.md).
"""
from __future__ import annotations

import glob
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowSkipException

ROOT = Path(os.environ.get("DTSEN_ROOT", Path(__file__).resolve().parents[2]))
JOBS_VENV = Path(os.environ.get("DTSEN_JOBS_VENV", ROOT / ".venv"))
PERIOD = os.environ.get("DTSEN_CYCLE_PERIOD", "half")
SCHEDULES = {"half": "0 0 1 1,7 *", "quarter": "0 0 1 1,4,7,10 *"}
if PERIOD not in SCHEDULES:
    raise ValueError(f"DTSEN_CYCLE_PERIOD must be one of {sorted(SCHEDULES)}, not {PERIOD!r}")
# Stages of dtsen_cycle in order; a run's `stages` param may name a subset (the others are skipped).
CYCLE_STAGES = ["ingest", "quality_gate", "resolve", "profile", "score", "allocate", "publish", "summary"]


def cycle_id(moment: datetime, period: str = PERIOD) -> str:
    """The cycle a moment falls in: 2026-03-15 -> 2026H1 (2026Q1 when quarterly).

    With the trigger timetable a scheduled run's data interval starts (and ends) at its logical
    date, 1 January / 1 July 00:00 UTC: the run builds the cycle that starts that day, whose data
    describe that reference date (dtsen.cycles: 2026H1 -> 2026-01-01). A manual run builds the cycle
    its logical date falls in, unless the run's `cycle` param names one (backfill, rerun).
    """
    if period == "half":
        return f"{moment.year}H{1 if moment.month <= 6 else 2}"
    return f"{moment.year}Q{(moment.month - 1) // 3 + 1}"


def site_packages(venv: Path) -> Path:
    found = sorted(glob.glob(str(venv / "lib" / "python3*" / "site-packages")))
    return Path(found[-1]) if found else venv / "lib" / "python3.11" / "site-packages"


def job_jars(root: Path = ROOT, venv: Path = JOBS_VENV) -> str:
    """--jars: Delta's jars (bin/setup puts them in .jars/) and Splink's similarity UDFs for Spark 4
    (the newest in its wheel, as splink's own similarity_jar_location picks). Under spark-submit the
    launcher owns the class path (dtsen.spark), so the task must pass them."""
    def version(path: str) -> tuple[int, ...]:
        m = re.search(r"-(\d+(?:\.\d+)*)_spark", path)
        return tuple(int(x) for x in m.group(1).split(".")) if m else ()

    splink = sorted(glob.glob(str(site_packages(venv) / "splink/internals/files/spark_jars/*_spark4.x.jar")),
                    key=version)
    return ",".join(sorted(glob.glob(str(root / ".jars" / "*.jar"))) + splink[-1:])


def sources(root: Path = ROOT) -> list[str]:
    """Agencies with a data contract (conf/base/contracts/<source>.yml): one ingest task each."""
    return sorted(p.stem for p in (root / "conf" / "base" / "contracts").glob("*.yml"))


def job_env() -> dict[str, str]:
    """The jobs venv's Spark and Python (and the JDK, when DTSEN_JAVA_HOME names one) for the
    spark-submit process; lake and conf overlay are templates, rendered when the task runs (Variables
    override the environment)."""
    lake = os.environ.get("DTSEN_LAKE", str(ROOT / "lake"))
    env = os.environ.get("DTSEN_ENV", "local")
    java_home = os.environ.get("DTSEN_JAVA_HOME", "").strip()
    return {**({"JAVA_HOME": java_home} if java_home else {}),
        "SPARK_HOME": str(site_packages(JOBS_VENV) / "pyspark"),
        "PYSPARK_PYTHON": str(JOBS_VENV / "bin" / "python"),
        "PYTHONPATH": str(ROOT / "lib"),
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "DTSEN_CONF": os.environ.get("DTSEN_CONF", str(ROOT / "conf")),
        "DTSEN_LAKE": f"{{{{ var.value.get('dtsen_lake', '{lake}') }}}}",
        "DTSEN_ENV": f"{{{{ var.value.get('dtsen_env', '{env}') }}}}",
    }


def job_conf(stage: str) -> dict[str, str]:
    """Spark settings the stage's job is submitted with. JVM options may differ per stage: a short job
    in a fresh JVM (one agency's ingest) can finish before C2 compilation pays off, while resolve runs
    its linkage queries for minutes and needs it (tests/orchestrate/airflow_env.py has the figures)."""
    conf = {"spark.driver.memory": os.environ.get("DTSEN_DRIVER_MEMORY", "2g"),
            # executors' Python workers import dtsen too (on a cluster without a shared disk,
            # ship lib/ as --py-files instead)
            "spark.executorEnv.PYTHONPATH": str(ROOT / "lib"),
            "spark.executorEnv.DTSEN_CONF": os.environ.get("DTSEN_CONF", str(ROOT / "conf"))}
    java = os.environ.get(f"DTSEN_JAVA_OPTIONS_{stage.upper()}", os.environ.get("DTSEN_JAVA_OPTIONS", "")).strip()
    if java:
        conf["spark.driver.extraJavaOptions"] = conf["spark.executor.extraJavaOptions"] = java
    return conf


class DtsenJob(SparkSubmitOperator):
    """One pipeline stage by spark-submit of jobs/<job>.py. Skipped (not failed) when the run's
    `stages` param leaves its stage out, so a partial run still reaches the stages after it."""

    def __init__(self, *, stage: str, job: str | None = None, args: list[str] | None = None, **kwargs) -> None:
        self.stage = stage
        name = job or stage
        super().__init__(
            application=str(ROOT / "jobs" / f"{name}.py"), application_args=args or [],
            name=f"dtsen-{name}", conn_id="spark_default", spark_binary=str(JOBS_VENV / "bin" / "spark-submit"),
            jars=job_jars(), env_vars=job_env(),
            conf=job_conf(stage), **kwargs)

    def execute(self, context):
        stages = (context.get("params") or {}).get("stages") or CYCLE_STAGES
        if self.stage not in stages:
            raise AirflowSkipException(f"stage {self.stage} not in this run's stages {stages}")
        return super().execute(context)


DEFAULT_ARGS = {
    "owner": "dtsen-ops",
    "retries": int(os.environ.get("DTSEN_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=5),
    # a stage left out by the `stages` param is skipped; the next stage still runs. A failure stops
    # everything downstream (upstream_failed).
    "trigger_rule": "none_failed",
}
