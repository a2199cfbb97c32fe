"""Run Airflow the way ops do: its own venv (.venv-airflow), its own AIRFLOW_HOME with a SQLite
metadata database, the repo's dags/ folder; the jobs venv is this interpreter's (sys.prefix)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
AIRFLOW_PY = ROOT / ".venv-airflow" / "bin" / "python"
AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
JOBS_VENV = Path(sys.prefix)
# The tests' spark-submitted jobs run a few thousand rows each in a fresh JVM, and most are over before
# C2 compilation pays off: with C1 only and the serial GC, one agency's ingest took 38-40 instead of
# 48-50 s (Java 25), a 3,000-resident profile 69-80 instead of 105-107 s of CPU and the cycle summary
# 35 instead of 52 s, in about the same wall time (idle 2-core machine; the suite's two workers keep
# both cores busy, so CPU time is what counts). Resolve runs its linkage queries for minutes and needs
# C2: 263 s with C1 only, 129 s with the serial GC alone. Long-running jobs (the 1M benchmarks,
# production) keep the defaults.
SHORT_JVM = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"
SMALL_JVM = "-XX:+UseSerialGC"
LONG_STAGES = {"resolve"}


def stage_jvm(stage: str) -> str:
    """A stage's JVM options in the tests: SMALL_JVM for LONG_STAGES, else SHORT_JVM."""
    return SMALL_JVM if stage in LONG_STAGES else SHORT_JVM


def jvm_options(stage: str, folder: Path) -> str:
    """`stage_jvm(stage)` with the class archive of those options in `folder`."""
    return with_class_archive(stage_jvm(stage), folder / f"jvm-{'small' if stage in LONG_STAGES else 'short'}.jsa")


def with_class_archive(options: str, archive: Path) -> str:
    """`options` plus a dynamic class-data-sharing archive: the first JVM writes the classes it loaded
    (Spark's, Delta's) to `archive` when it exits, later JVMs with the same class path map it instead of
    loading them again. A one-agency ingest spark-submit took ~40.5 instead of ~50.5 s so (Java 25,
    idle 2-core machine); the first one pays ~18 s to write it. One archive per set of options.
    Java 19 brought AutoCreateSharedArchive: on an older JDK the options stay as they are."""
    from dtsen.spark import _major

    home = jobs_java_home()
    java = os.path.join(home, "bin", "java") if home else "java"
    if (_major(java)[0] or 0) < 19:
        return options
    return f"{options} -XX:+AutoCreateSharedArchive -XX:SharedArchiveFile={archive}"


def jobs_java_home() -> str:
    """The JDK the jobs run on, by the rule local sessions follow (conf `spark.java_home: auto`): the
    newest one Spark supports, unless JAVA_HOME names one. Java 17 when that is all there is."""
    from dtsen.spark import choose_java

    choose_java("auto")
    return os.environ.get("JAVA_HOME", "")


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # the DAGs must not need dtsen's lib
    env.update({
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
        "DTSEN_JOBS_VENV": str(JOBS_VENV), "DTSEN_TASK_RETRIES": "0",
        "DTSEN_JAVA_HOME": jobs_java_home(),
        "DTSEN_JAVA_OPTIONS": jvm_options("", home.parent),
        **{f"DTSEN_JAVA_OPTIONS_{s.upper()}": jvm_options(s, home.parent) for s in LONG_STAGES},
    })
    env.update(extra)
    return env


def migrate(home: Path, env: dict[str, str]) -> None:
    """`airflow db migrate` into this home's SQLite database (each test module has its own)."""
    home.mkdir(parents=True, exist_ok=True)
    run([str(AIRFLOW), "db", "migrate"], env, timeout=600)


def run(cmd: list[str], env: dict[str, str], timeout: float, log: Path | None = None) -> subprocess.CompletedProcess:
    """Run and fail with the output's tail; with `log`, the output also streams to that file (long runs)."""
    if log is None:
        got = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    else:
        with open(log, "w") as fh:
            proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        got = subprocess.CompletedProcess(cmd, proc.returncode, log.read_text(), "")
    if got.returncode != 0:
        raise AssertionError(f"{' '.join(cmd[:4])} ... exited {got.returncode}\n--- stdout\n{got.stdout[-6000:]}"
                             f"\n--- stderr\n{got.stderr[-6000:]}")
    return got
