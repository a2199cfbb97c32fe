"""The same jobs on a real Spark standalone cluster and in local mode give the same lake.

One master and two workers (1 core, 2 GB each) on loopback, started from the jobs venv's pyspark
distribution with spark-class (pip's pyspark has no start-master.sh), stopped by pid at the end.
The local-mode lake is the DAG test's (conftest.py): its tasks spark-submitted every job with local[2].
The cluster gets the two jobs whose work it spreads differently: ingest of the civil registry (the
agency readers are Python on the executors) into a copy of the lake as the generator left it, and
resolve (Splink's jar, the matcher's checkpoints) into a copy of the lake the DAG finished, so from the
same silver tables. silver_person and residents must hold the same rows in both (as sets: row order
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
from airflow_env import jobs_java_home, jvm_options, stage_jvm

ROOT = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(__import__("pyspark").__file__).parent
SPARK_SUBMIT = Path(sys.prefix) / "bin" / "spark-submit"
CLUSTER_ENV = "clustertest"          # dagtest with the production profile's generated code (lakes)


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
    cmd = [str(SPARK_SUBMIT), "--master", master, "--jars", _jars(), "--name", f"dtsen-{job}",
           "--conf", "spark.driver.memory=2g", "--conf", f"spark.executorEnv.PYTHONPATH={ROOT / 'lib'}",
           "--conf", f"spark.driver.extraJavaOptions={jvm_options(job, Path(env['DTSEN_LAKE']).parent)}",
           "--conf", f"spark.executor.extraJavaOptions={stage_jvm(job)}",
           "--total-executor-cores", "2", "--executor-memory", "1g"]
    cmd += [x for k in ("DTSEN_LAKE", "DTSEN_CONF", "DTSEN_ENV") for x in ("--conf", f"spark.executorEnv.{k}={env[k]}")]
    got = subprocess.run([*cmd, str(ROOT / "jobs" / f"{job}.py"), *args], env=_env(**env),
                         capture_output=True, text=True, timeout=1800)
    assert got.returncode == 0, f"{job} on {master} exited {got.returncode}:\n{got.stderr[-4000:]}"
    return got.stdout


@pytest.fixture(scope="module")
def lakes(setting, dag_runs, cluster, conf) -> dict:
    """The registry's ingest and the cycle's resolve on the cluster, with the DAG test's conf, each in
    its own copy of a lake (the DAG runs first, so the cluster is not kept idle through it). Resolve
    reads the silver tables and earlier cycles' ids only: the later stages' tables in the copy of the
    finished lake change nothing. The copy loses the DAG's residents first, so what is compared is what
    the cluster wrote."""
    from dtsen.catalog import Catalog

    cycle, lakes = setting["cycle"], {"silver_person": setting["tmp"] / "lake-cluster-ingest",
                                      "residents": setting["tmp"] / "lake-cluster-resolve"}
    # The suite's Spark profile interprets expressions (tiny tables); the cluster's jobs run Spark's
    # generated code and adaptive plans, as production does, so equal tables also say both paths agree.
    shutil.copytree(setting["conf"] / "dagtest", setting["conf"] / CLUSTER_ENV, dirs_exist_ok=True)
    (setting["conf"] / CLUSTER_ENV / "spark_generated_code.yml").write_text(
        "spark:\n  profiles:\n    test:\n      spark.sql.codegen.wholeStage: 'true'\n"
        "      spark.sql.codegen.factoryMode: FALLBACK\n      spark.sql.adaptive.enabled: 'true'\n")
    shutil.copytree(setting["generated"], lakes["silver_person"])
    shutil.copytree(setting["lake"], lakes["residents"])
    shutil.rmtree(Catalog(conf.with_overrides({"catalog": {"lake_root": str(lakes["residents"])}})).path("residents"))
    started = time.time()
    stdout = [_submit(cluster["url"], _lake_env(setting, lakes["silver_person"]), "ingest", "--cycle", cycle,
                      "--source", "dukcapil"),
              _submit(cluster["url"], _lake_env(setting, lakes["residents"]), "resolve", "--cycle", cycle)]
    return {"cluster": lakes, "local": setting["lake"], "stdout": stdout, "seconds": round(time.time() - started)}


def _lake_env(setting: dict, lake: Path) -> dict[str, str]:
    return {"DTSEN_LAKE": str(lake), "DTSEN_CONF": str(setting["conf"]), "DTSEN_ENV": CLUSTER_ENV}


def test_jobs_ran_on_the_cluster(lakes, cluster, setting):
    """The cluster did the work: the master lists the cycle's applications as finished."""
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster['ui']}/json/", timeout=10) as r:
        state = json.load(r)
    names = [a["name"] for a in state.get("completedapps", [])]
    assert {"dtsen-ingest", "dtsen-resolve"} <= set(names), names
    assert f"resolved {setting['cycle']}" in "".join(lakes["stdout"])


@pytest.mark.parametrize("table", ["silver_person", "residents"])
def test_cluster_and_local_outputs_are_equal(lakes, spark, conf, setting, table):
    from dtsen.catalog import Catalog

    def rows(lake: Path):
        cat = Catalog(conf.with_overrides({"catalog": {"lake_root": str(lake)}}))
        df = cat.read(spark, table, setting["cycle"])
        return df.drop(*[c for c in df.columns if c.endswith("_at")])       # run timestamps, if any

    cluster_rows, local_rows = rows(lakes["cluster"][table]), rows(lakes["local"])
    assert cluster_rows.count() > 0
    assert sorted(cluster_rows.columns) == sorted(local_rows.columns)
    cols = sorted(cluster_rows.columns)
    assert cluster_rows.select(cols).exceptAll(local_rows.select(cols)).count() == 0
    assert local_rows.select(cols).exceptAll(cluster_rows.select(cols)).count() == 0
    assert cluster_rows.count() == local_rows.count()
