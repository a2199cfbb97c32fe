"""The same jobs on a real Spark standalone cluster and in local mode give the same lake.

One master and two workers (1 core, 2 GB each) on loopback, started from the jobs venv's pyspark
distribution with spark-class (pip's pyspark has no start-master.sh), stopped by pid at the end.
The local-mode lake is the DAG test's (conftest.py): its tasks spark-submitted ingest and resolve with
local[2]. A copy of that lake as the generator left it gets the same jobs (jobs/*.py) spark-submitted
against the cluster; silver_person and residents must hold the same rows in both (as sets: row order
and file layout may differ). Running the local side again here would take minutes and check nothing more."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from airflow_env import SHORT_JVM, SMALL_JVM, jobs_java_home, with_class_archive

ROOT = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(__import__("pyspark").__file__).parent
SPARK_SUBMIT = Path(sys.prefix) / "bin" / "spark-submit"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(SPARK_HOME), "PYSPARK_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(ROOT / "lib"),
            **({"JAVA_HOME": java} if (java := jobs_java_home()) else {}), **extra}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """spark://127.0.0.1:<port> with two ALIVE workers; every process stopped by its pid afterwards.
    The master port is 7077 when free, else any free one (other engineers may run a cluster)."""
    logs = tmp_path_factory.mktemp("cluster-logs")
    port = 7077
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            port = _free_port()
    master_ui = _free_port()
    url = f"spark://127.0.0.1:{port}"
    cls = str(SPARK_HOME / "bin" / "spark-class")
    cmds = [[cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
             "--webui-port", str(master_ui)]]
    for i in range(2):
        cmds.append([cls, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                     "--memory", "2g", "--webui-port", str(_free_port()),
                     "--work-dir", str(logs / f"work{i}"), url])
    procs = []
    try:
        for i, cmd in enumerate(cmds):
            procs.append(subprocess.Popen(cmd, env=_env(), stdout=open(logs / f"{i}.out", "w"),
                                          stderr=subprocess.STDOUT))
            if i == 0:
                time.sleep(3)
        deadline, alive = time.time() + 180, 0
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{master_ui}/json/", timeout=5) as r:
                    state = json.load(r)
                alive = sum(w["state"] == "ALIVE" for w in state.get("workers", []))
            except OSError:
                alive = 0
            if alive == 2:
                break
            assert all(p.poll() is None for p in procs), f"a cluster process died; logs in {logs}"
            time.sleep(2)
        assert alive == 2, f"only {alive} of 2 workers registered with {url} in 180 s; logs in {logs}"
        yield {"url": url, "ui": master_ui, "logs": logs}
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _jars() -> str:
    from dtsen.spark import linkage_jars

    return ",".join(sorted(str(p) for p in (ROOT / ".jars").glob("*.jar")) + linkage_jars())


def _submit(master: str, env: dict[str, str], job: str, *args: str) -> str:
    """The job by spark-submit to `master`, JVM options as the DAG test's tasks (airflow_env.py); the
    driver shares their class archive (same class path), the executors keep none (theirs differs)."""
    jvm = SHORT_JVM if job == "ingest" else SMALL_JVM
    archive = Path(env["DTSEN_LAKE"]).parent / f"jvm-{'short' if job == 'ingest' else 'small'}.jsa"
    cmd = [str(SPARK_SUBMIT), "--master", master, "--jars", _jars(), "--name", f"dtsen-{job}",
           "--conf", "spark.driver.memory=2g", "--conf", f"spark.executorEnv.PYTHONPATH={ROOT / 'lib'}",
           "--conf", f"spark.driver.extraJavaOptions={with_class_archive(jvm, archive)}",
           "--conf", f"spark.executor.extraJavaOptions={jvm}",
           "--total-executor-cores", "2", "--executor-memory", "1g"]
    cmd += [x for k in ("DTSEN_LAKE", "DTSEN_CONF", "DTSEN_ENV") for x in ("--conf", f"spark.executorEnv.{k}={env[k]}")]
    got = subprocess.run([*cmd, str(ROOT / "jobs" / f"{job}.py"), *args], env=_env(**env),
                         capture_output=True, text=True, timeout=1800)
    assert got.returncode == 0, f"{job} on {master} exited {got.returncode}:\n{got.stderr[-4000:]}"
    return got.stdout


@pytest.fixture(scope="module")
def lakes(setting, dag_runs, cluster) -> dict:
    """The cycle's jobs, ingest and resolve, on the cluster into a copy of the generated lake, with
    the DAG test's conf; beside the lake the DAG's local-mode tasks wrote (the DAG runs first, so the
    cluster is not kept idle through it)."""
    lake = setting["tmp"] / "lake-cluster"
    shutil.copytree(setting["generated"], lake)
    env = {"DTSEN_LAKE": str(lake), "DTSEN_CONF": str(setting["conf"]), "DTSEN_ENV": "dagtest"}
    started = time.time()
    stdout = [_submit(cluster["url"], env, job, "--cycle", setting["cycle"]) for job in ("ingest", "resolve")]
    return {"cluster": {"lake": lake, "stdout": stdout, "seconds": round(time.time() - started)},
            "local": {"lake": setting["lake"]}}


def test_jobs_ran_on_the_cluster(lakes, cluster, setting):
    """The cluster did the work: the master lists the cycle's applications as finished."""
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster['ui']}/json/", timeout=10) as r:
        state = json.load(r)
    names = [a["name"] for a in state.get("completedapps", [])]
    assert {"dtsen-ingest", "dtsen-resolve"} <= set(names), names
    assert f"resolved {setting['cycle']}" in "".join(lakes["cluster"]["stdout"])


@pytest.mark.parametrize("table", ["silver_person", "residents"])
def test_cluster_and_local_outputs_are_equal(lakes, spark, conf, setting, table):
    from dtsen.catalog import Catalog

    def rows(mode: str):
        cat = Catalog(conf.with_overrides({"catalog": {"lake_root": str(lakes[mode]["lake"])}}))
        df = cat.read(spark, table, setting["cycle"])
        return df.drop(*[c for c in df.columns if c.endswith("_at")])       # run timestamps, if any

    cluster_rows, local_rows = rows("cluster"), rows("local")
    assert cluster_rows.count() > 0
    assert sorted(cluster_rows.columns) == sorted(local_rows.columns)
    cols = sorted(cluster_rows.columns)
    assert cluster_rows.select(cols).exceptAll(local_rows.select(cols)).count() == 0
    assert local_rows.select(cols).exceptAll(cluster_rows.select(cols)).count() == 0
    assert cluster_rows.count() == local_rows.count()
