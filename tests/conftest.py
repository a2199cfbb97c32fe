"""One Spark session for the whole suite (local[2], UI off, few partitions, as Delta's own tests),
and a throw-away lake per test session so tests never touch ./lake."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("DTSEN_ENV", "test")


@pytest.fixture(scope="session")
def lake_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("lake"))
    os.environ["DTSEN_LAKE"] = root
    return root


@pytest.fixture(scope="session")
def conf(lake_root):
    from dtsen.config import load_config

    return load_config("test")


@pytest.fixture(scope="session")
def spark(conf):
    from dtsen.spark import get_spark

    session = get_spark(conf, "tests")
    yield session
    session.stop()
