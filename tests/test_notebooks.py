"""Every notebook in notebooks/ runs top to bottom on the suite's lake (scored population, MLflow
store), in a fresh kernel of this environment: a notebook that no longer runs is a failing test."""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, published, lake_root, tmp_path, tmp_path_factory, monkeypatch):
    from orchestrate.airflow_env import SHORT_JVM, with_class_archive

    # the kernel inherits the suite's environment: DTSEN_LAKE, DTSEN_ENV=test, the test key; its
    # Spark driver (pyspark's launcher reads PYSPARK_SUBMIT_ARGS) gets the short-job JVM options of
    # the spark-submitted tests and one class archive for the three notebooks (see airflow_env.py)
    monkeypatch.setenv("DTSEN_NOTEBOOK_CYCLE", "2026H1")
    jvm = with_class_archive(SHORT_JVM, tmp_path_factory.getbasetemp() / "jvm-notebooks.jsa")
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", f"--driver-java-options '{jvm}' pyspark-shell")
    assert os.environ["DTSEN_LAKE"] == lake_root
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any(o.output_type in ("execute_result", "display_data") for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))
