"""One Spark session for the whole suite (local[2], UI off, few partitions, as Delta's own tests;
expressions interpreted: conf/base/spark.yml, profile `test`), and a throw-away lake per test
session so tests never touch ./lake."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("DTSEN_ENV", "test")
# A throw-away pseudonymization key for the suite (real keys come from the environment or a secret file).
os.environ["DTSEN_SECRET_KEY"] = "5e" * 32

# The session's lake, generated -> ... -> published once (fixtures below), and the tests that read it.
LAKE_CHAIN = {"generated", "ingested_cycles", "resolved", "profiled", "scored", "allocated", "published"}
# Minutes of spark-submitted jobs each, in their own lakes: the Airflow DAG run and the standalone cluster.
SUBMITTING = {"test_dag_run", "test_cluster"}


@pytest.hookimpl(tryfirst=True)          # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    """bin/run-tests runs two pytest-xdist workers (`-n 2 --dist loadgroup`): one builds the session's
    lake and runs every test that reads it (built once, not once per worker), the other runs the
    spark-submitting orchestration tests; the rest fill in. Without xdist the marks do nothing."""
    for item in items:
        if LAKE_CHAIN & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("lake"))
        elif item.path.stem in SUBMITTING:
            item.add_marker(pytest.mark.xdist_group("spark_submit"))


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


RESIDENTS, SEED = 6000, 7


@pytest.fixture(scope="session")
def requested_residents() -> int:
    return RESIDENTS


@pytest.fixture(scope="session")
def generated(spark, conf):
    """A small synthetic population, both cycles, generated once for the whole suite."""
    from dtsen.synth.generate import generate

    return {c: generate(spark, conf, residents=RESIDENTS, seed=SEED, cycle=c) for c in ("2026H1", "2026H2")}


@pytest.fixture(scope="session")
def cat(conf):
    from dtsen.catalog import Catalog

    return Catalog(conf)


@pytest.fixture(scope="session")
def ingested_cycles(generated, spark, conf):
    """Both cycles' feeds ingested once for the suite: {cycle: ingest summary}."""
    from dtsen.ingest.job import ingest

    return {c: ingest(spark, conf, cycle=c) for c in generated}


@pytest.fixture(scope="session")
def resolved(ingested_cycles, spark, conf):
    """Both cycles resolved once for the suite: {cycle: resolve summary}."""
    from dtsen.resolve.job import resolve

    return {c: resolve(spark, conf, cycle=c) for c in ingested_cycles}


@pytest.fixture(scope="session")
def profiled(resolved, spark, conf):
    """Both cycles profiled once for the suite: {cycle: profile summary}."""
    from dtsen.profile.job import profile

    return {c: profile(spark, conf, cycle=c) for c in resolved}


@pytest.fixture(scope="session")
def scored(profiled, spark, conf):
    """The welfare models trained on both cycles' labels, the first promoted, both cycles scored:
    {"train": summary, "promote": summary, cycle: score summary}."""
    from dtsen.score.job import score
    from dtsen.score.promote import promote
    from dtsen.score.train import train

    out = {"train": train(spark, conf), "promote": promote(spark, conf)}
    out.update({c: score(spark, conf, cycle=c) for c in profiled})
    return out


@pytest.fixture(scope="session")
def allocated(scored, spark, conf):
    """Both cycles allocated (eligibility, quotas, recipients, status) from the real scores."""
    from dtsen.allocate.job import allocate

    return {c: allocate(spark, conf, cycle=c) for c in ("2026H1", "2026H2")}


@pytest.fixture(scope="session")
def published(allocated, spark, conf, cat):
    """H1 published twice (file hashes after each run), then H2 (diff against H1). The first H1 run and
    H2 take the tables `allocated` just wrote, as the DAG's publish task does; the second H1 run
    allocates again, so equal hashes mean allocation and publication are both reproducible."""
    import hashlib

    from dtsen.allocate.publish import publish

    def hashes(cycle):
        root = cat.publish_dir(cycle)
        return {os.path.relpath(os.path.join(d, f), root): hashlib.sha256(open(os.path.join(d, f), "rb").read())
                .hexdigest() for d, _, files in os.walk(root) for f in files}
    first = publish(spark, conf, cycle="2026H1", reuse_allocation=True)
    h1 = hashes("2026H1")
    again = publish(spark, conf, cycle="2026H1")
    h1_again = hashes("2026H1")
    second = publish(spark, conf, cycle="2026H2", reuse_allocation=True)
    return {"first": first, "again": again, "h2": second, "hashes": (h1, h1_again), "hashes_of": hashes}
