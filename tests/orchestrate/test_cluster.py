"""The same jobs on a real Spark standalone cluster and in local mode give the same lake.

One master and two workers (1 core, 2 GB each) on loopback, started from the jobs venv's pyspark
distribution with spark-class (pip's pyspark has no start-master.sh), stopped by pid at the end.
A demo population is generated once and copied into two lakes; ingest -> resolve are spark-submitted
(jobs/*.py, as the DAG tasks do) against the cluster into one and with local[2] into the other;
silver_person and residents must hold the same rows (as sets: row order and file layout may differ)."""
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
from airflow_env import SHORT_JVM

ROOT = Path(__file__).resolve().parents[2]
CYCLE, RESIDENTS, SEED = "2026H1", 1500, 5
SPARK_HOME = Path(__import__("pyspark").__file__).parent
SPARK_SUBMIT = Path(sys.prefix) / "bin" / "spark-submit"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(SPARK_HOME), "PYSPARK_PYTHON": sys.executable,
            "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONPATH": str(ROOT / "lib"), **extra}


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


def _submit(master: str, lake: Path, job: str, *args: str) -> str:
    cmd = [str(SPARK_SUBMIT), "--master", master, "--jars", _jars(), "--name", f"dtsen-{job}",
           "--conf", "spark.driver.memory=2g", "--conf", f"spark.executorEnv.PYTHONPATH={ROOT / 'lib'}",
           "--conf", f"spark.executorEnv.DTSEN_LAKE={lake}",
           "--conf", f"spark.driver.extraJavaOptions={SHORT_JVM}",
           "--conf", f"spark.executor.extraJavaOptions={SHORT_JVM}"]
    if master.startswith("spark://"):
        cmd += ["--total-executor-cores", "2", "--executor-memory", "1g"]
    got = subprocess.run([*cmd, str(ROOT / "jobs" / f"{job}.py"), *args], env=_env(DTSEN_LAKE=str(lake)),
                         capture_output=True, text=True, timeout=1800)
    assert got.returncode == 0, f"{job} on {master} exited {got.returncode}:\n{got.stderr[-4000:]}"
    return got.stdout


@pytest.fixture(scope="module")
def lakes(cluster, tmp_path_factory) -> dict:
    """The demo population generated once (the generator is not a cycle job), copied into both lakes;
    then the cycle's jobs, ingest and resolve, on the cluster in one and in local mode in the other."""
    demo = tmp_path_factory.mktemp("demo") / "lake"
    _submit("local[2]", demo, "generate", "--residents", str(RESIDENTS), "--seed", str(SEED), "--cycle", CYCLE)
    out = {}
    for mode, master in (("cluster", cluster["url"]), ("local", "local[2]")):
        lake = tmp_path_factory.mktemp(f"lake-{mode}") / "lake"
        shutil.copytree(demo, lake)
        started = time.time()
        out[mode] = {"lake": lake, "stdout": [_submit(master, lake, "ingest", "--cycle", CYCLE),
                                              _submit(master, lake, "resolve", "--cycle", CYCLE)],
                     "seconds": round(time.time() - started)}
    return out


def test_jobs_ran_on_the_cluster(cluster, lakes):
    """The cluster did the work: the master lists the cycle's applications as finished."""
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster['ui']}/json/", timeout=10) as r:
        state = json.load(r)
    names = [a["name"] for a in state.get("completedapps", [])]
    assert {"dtsen-ingest", "dtsen-resolve"} <= set(names), names
    assert all("resolved 2026H1" in "".join(lakes[m]["stdout"]) for m in lakes)


@pytest.mark.parametrize("table", ["silver_person", "residents"])
def test_cluster_and_local_outputs_are_equal(lakes, spark, conf, table):
    from dtsen.catalog import Catalog

    def rows(mode: str):
        cat = Catalog(conf.with_overrides({"catalog": {"lake_root": str(lakes[mode]["lake"])}}))
        df = cat.read(spark, table, CYCLE)
        return df.drop(*[c for c in df.columns if c.endswith("_at")])       # run timestamps, if any

    cluster_rows, local_rows = rows("cluster"), rows("local")
    assert cluster_rows.count() > 0
    assert sorted(cluster_rows.columns) == sorted(local_rows.columns)
    cols = sorted(cluster_rows.columns)
    assert cluster_rows.select(cols).exceptAll(local_rows.select(cols)).count() == 0
    assert local_rows.select(cols).exceptAll(cluster_rows.select(cols)).count() == 0
    assert cluster_rows.count() == local_rows.count()
