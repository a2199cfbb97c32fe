"""SparkSession factory driven by conf/: local mode with Delta by default, unchanged under spark-submit.

Locally we start the JVM ourselves, so master, Delta jars and memory come from conf (`spark:`).
Under spark-submit (or any already-running JVM) the launcher owns master, jars and resources; we
only add the SQL settings from conf and check that Delta's classes are really there.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys

from pyspark.sql import SparkSession

from dtsen.config import Config, ConfigError, resolve_path

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
MIN_JAVA = 17
SUPPORTED_JAVA = (17, 21, 25)      # the Java releases Spark 4.2 runs on
JDK_ROOTS = ("/usr/lib/jvm",)      # where `spark.java_home: auto` looks for JDKs besides the PATH's java


class EnvironmentProblem(RuntimeError):
    """The machine lacks something Spark needs (Java, Delta jars): message says how to fix it."""


def _major(java: str) -> tuple[int | None, str]:
    """The major version `java -version` reports (None when it reports none), and what it printed."""
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None, out
    major = int(m.group(1))
    return (int(m.group(2)) if major == 1 and m.group(2) else major), out


def _java() -> str | None:
    """The `java` the local JVM will run: JAVA_HOME's, else the PATH's."""
    return os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")


def java_major_version() -> int:
    java = _java()
    if not java or not os.path.exists(java):
        raise EnvironmentProblem(
            f"Java not found. Spark 4 needs Java {MIN_JAVA}+: install it (apt-get install openjdk-17-jre-headless) "
            "or set JAVA_HOME.")
    major, out = _major(java)
    if major is None:
        raise EnvironmentProblem(f"could not read the Java version from '{java} -version': {out.strip()[:200]}")
    return major


def choose_java(setting: str, roots: tuple[str, ...] = JDK_ROOTS) -> None:
    """Point JAVA_HOME at the JDK the local JVM will run on, before it starts.

    An operator's JAVA_HOME always wins. Otherwise conf `spark.java_home`: a JDK folder, or `auto`:
    the newest JDK Spark supports among those in `roots` and the PATH's `java`. Newer JIT compilers run
    Spark's generated code markedly faster: the 1M-resident ingest took 308-356 s on Java 17 and
    264 s on Java 25, same machine and code (BENCHMARKS.md). Finding none leaves Java to the PATH."""
    if os.environ.get("JAVA_HOME"):
        return
    if setting != "auto":
        if not os.path.exists(os.path.join(setting, "bin", "java")):
            raise ConfigError(f"spark.java_home is '{setting}', which has no bin/java: give a JDK folder or 'auto'")
        os.environ["JAVA_HOME"] = setting
        return
    found = {os.path.realpath(j) for root in roots for j in glob.glob(os.path.join(root, "*", "bin", "java"))}
    if shutil.which("java"):
        found.add(os.path.realpath(shutil.which("java")))
    usable = [(major, java) for java in sorted(found) if (major := _major(java)[0]) in SUPPORTED_JAVA]
    if usable:
        os.environ["JAVA_HOME"] = os.path.dirname(os.path.dirname(max(usable)[1]))


def check_java() -> None:
    major = java_major_version()
    if major < MIN_JAVA:
        raise EnvironmentProblem(f"Java {major} found; Spark 4 needs Java {MIN_JAVA}+. Install it or set JAVA_HOME.")


def delta_jars(conf: Config) -> list[str]:
    jars = sorted(glob.glob(os.path.join(resolve_path(conf.get("spark.delta.jars_dir")), "*.jar")))
    if not any(os.path.basename(j).startswith("delta-spark_") for j in jars):
        raise EnvironmentProblem(
            f"Delta jars not found in {resolve_path(conf.get('spark.delta.jars_dir'))}: run bin/setup "
            "(it fetches them from Maven Central).")
    return jars


def linkage_jars() -> list[str]:
    """Splink's Scala similarity functions (jaro_winkler, ...) ship as a jar inside its wheel; they must
    be on the class path when the JVM starts."""
    try:
        from splink.internals.spark.jar_location import similarity_jar_location
    except ImportError:
        return []
    path = similarity_jar_location()
    return [path] if os.path.exists(path) else []


def jit_directive_options(setting: object, app: str) -> str:
    """JVM options that load the HotSpot compiler directives file conf `spark.jit_directives` names for
    the job `app` (a mapping job -> path relative to the project root; a job not in it: none). The
    JVM the run will use checks the file first, so a wrong one stops the run with HotSpot's own
    message instead of a Java gateway that fails to start.

    Per job, because what pays differs: on 2 cores the JIT compilers took a third of the ingest's CPU,
    most of it C2 compiling Spark's generated classes that each run for seconds (BENCHMARKS.md,
    Ingest), while other jobs run the same generated code for minutes."""
    if setting is None:
        return ""
    if not isinstance(setting, dict) or not all(isinstance(v, str) for v in setting.values()):
        raise ConfigError(f"spark.jit_directives must map job names (ingest, resolve, ...) to directive files, "
                          f"got {setting!r}")
    given = setting.get(app, "")
    if not given:
        return ""
    path = resolve_path(given)
    if not os.path.isfile(path):
        raise ConfigError(f"spark.jit_directives.{app} is '{given}': no such file ({path})")
    # HotSpot announces "N compiler directives added" on stdout, ahead of a job's --json summary: its
    # own messages go to stderr instead.
    options = ["-XX:+UnlockDiagnosticVMOptions", f"-XX:CompilerDirectivesFile={path}", "-XX:+DisplayVMOutputToStderr"]
    run = subprocess.run([_java() or "java", *options, "-version"], capture_output=True, text=True)
    if run.returncode != 0:
        said = "\n".join(x for x in (run.stdout.strip(), run.stderr.strip()) if x)
        raise ConfigError(f"spark.jit_directives.{app} '{path}' is not a compiler directives file this JVM "
                          f"accepts (HotSpot's compiler control syntax):\n{said[:2000]}")
    return " ".join(f'"{o}"' if any(ch.isspace() for ch in o) else o for o in options)


def _jvm_running() -> bool:
    """True under spark-submit / pyspark shell, where the launcher already started the JVM."""
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None or "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(conf: Config, app: str = "dtsen", profile: str | None = None) -> SparkSession:
    """Build (or attach to) the session. `profile` picks a settings block in conf (`spark.profiles`)."""
    profile = profile or conf.get("spark.profile", "local")
    profiles = conf.section("spark.profiles")
    if profile not in profiles:
        raise ConfigError(f"spark.profile '{profile}' is not one of {sorted(profiles)} (conf/*/spark.yml)")
    settings: dict = {**conf.get("spark.settings", {}), **(profiles[profile] or {})}
    builder = SparkSession.builder.appName(f"{conf.get('spark.app_prefix', 'dtsen')}-{app}")
    builder = builder.config("spark.sql.extensions", DELTA_EXTENSION)
    builder = builder.config("spark.sql.catalog.spark_catalog", DELTA_CATALOG)
    if not _jvm_running():
        choose_java(str(conf.get("spark.java_home", "auto")))
        check_java()
        builder = builder.master(os.environ.get("DTSEN_SPARK_MASTER", conf.get("spark.master")))
        builder = builder.config("spark.jars", ",".join(delta_jars(conf) + linkage_jars()))
        # Local Spark binds to whatever the hostname resolves to; loopback keeps it off the network.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers must run this interpreter (the venv that has dtsen), not the first python3 on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        jit = jit_directive_options(conf.get("spark.jit_directives"), app)   # after check_java: that JVM checks it
        if jit:
            others = str(settings.get("spark.driver.extraJavaOptions", "")).strip()
            settings["spark.driver.extraJavaOptions"] = f"{others} {jit}".strip()
        launch_only = settings
    else:
        launch_only = {k: v for k, v in settings.items() if not k.startswith(("spark.driver.", "spark.executor."))}
    for key, value in launch_only.items():
        builder = builder.config(key, str(value))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(conf.get("spark.log_level", "WARN"))
    from py4j.java_gateway import JavaClass

    # py4j resolves names through Spark's class loader: a JavaPackage here means the jar is absent.
    if not isinstance(spark._jvm.io.delta.tables.DeltaTable, JavaClass):
        raise EnvironmentProblem(
            "Delta classes are not on Spark's class path. Under spark-submit pass "
            "--jars \"$(ls .jars/*.jar | paste -sd,)\" (bin/setup fetches them).")
    return spark
