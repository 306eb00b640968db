"""Preflight: check everything the lab needs, and name each problem with its fix.

:func:`preflight` runs one small check per requirement, in the order a problem would bite —
the operating system, Python, the pinned packages, Java, the JVM jars, memory, disk space, free
ports, the broker seen from Python, the lesson's topic, the broker seen from Spark's Kafka
source, and Delta — and returns one :class:`Finding` for each. Nothing raises: a problem becomes
a ``fail`` finding whose ``fix`` says what to do, and the checks that depend on it are skipped
rather than left to hang. Every network wait is bounded (a few seconds). It changes nothing:
missing jars are reported, not downloaded (``make setup`` does that).

>>> Finding("Python", "ok", "Python 3.11.7").ok
True
>>> Finding("Java", "fail", "Java not found", "install a JDK 17+").ok
False

In a notebook (``show_findings`` draws a table)::

    show_findings(preflight(settings=lesson.kafka, topic=lesson.topic, spark=spark))

From a terminal: ``python -m labsupport preflight``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsupport.broker import EmbeddedBroker
from labsupport.checks.core import CheckResult
from labsupport.config import DEFAULT_BROKER_PORT, DRIVER_MEMORY, PROJECT_ROOT, TOPIC, KafkaSettings
from labsupport.env import env_memory
from labsupport.errors import LabError, explain_failure
from labsupport.machine import Machine, Status, resident_memory
from labsupport.net import port_open
from labsupport.topics import admin_client, broker_reachable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from rich.console import Console

    from labsupport.jars import JarGroup

__all__ = [
    "MIN_FREE_DISK_GB",
    "Finding",
    "check_preflight",
    "preflight",
    "run_preflight_cli",
    "show_findings",
]

#: The lessons write little (lessons 04–06 left at most 3.6 MB of tables and checkpoints each and
#: under 1 MB of broker data, measured with the memory figures in labsupport.machine), but a full
#: disk stops the broker and fails Delta commits mid-stream: 2 GB leaves room for Spark's
#: temporary files and for `make setup` to run again (.venv is 1.2 GB, .lab's jars and Ivy cache 0.2 GB).
MIN_FREE_DISK_GB = 2.0
JUPYTER_PORT = 8888
_JAR_FIX = "`make setup` (downloads them once: Maven Central, or LAB_MAVEN_REPO for a mirror)"
#: Bounds for Spark's Kafka client in the preflight read, so a broken broker fails fast.
_SPARK_KAFKA_TIMEOUTS = {
    "kafka.request.timeout.ms": "10000",
    "kafka.default.api.timeout.ms": "10000",
    "fetchOffset.numRetries": "1",
}
_SYMBOL = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "–"}
_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


@dataclass(frozen=True)
class Finding:
    """One requirement checked: its ``name``, a ``status``, what was found, and the fix."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        """False only for ``fail``: a warning or a skipped check does not stop the lab."""
        return self.status != "fail"

    def __str__(self) -> str:
        line = f"{_SYMBOL[self.status]} {self.name}: {self.detail}"
        return f"{line} — fix: {self.fix}" if self.fix else line


def _guarded(name: str, fix: str, check: Callable[[], Finding]) -> Finding:
    """Run ``check``; an unexpected exception becomes a ``fail`` finding, never a traceback."""
    try:
        return check()
    except Exception as error:
        return Finding(name, "fail", _describe(error), fix)


def _describe(error: Exception) -> str:
    """A :class:`LabError`'s own line, else the error's type and first line (JVM errors are long)."""
    if isinstance(error, LabError):
        return str(error)
    return f"{type(error).__name__}: {explain_failure(error)[:300]}"


# --- The checks, one per requirement ---------------------------------------------------------
def _python() -> Finding:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < (3, 10):  # noqa: UP036 - reported here, not left to a SyntaxError later
        return Finding(
            "Python", "fail", f"Python {version}", "install Python 3.10+ and run `make setup`"
        )
    return Finding("Python", "ok", f"Python {version} at {sys.executable}")


def _packages() -> Finding:
    from labsupport.versions import check_installed, pinned_python_packages

    names = ("pyspark", "delta-spark", "confluent-kafka")
    check_installed(names)
    pins = pinned_python_packages()
    return Finding("Python packages", "ok", ", ".join(f"{n} {pins[n]}" for n in names))


def _java() -> Finding:
    from labsupport.java import java_version, require_java

    java = require_java()
    return Finding("Java", "ok", f"Java {java_version(java)} at {java}")


def _jars(group: JarGroup) -> Finding:
    """Read-only: the jar cache's manifest, never a download (``make setup`` downloads)."""
    from labsupport.jars import cached_jars, jars_dir

    jars = cached_jars(group)
    if jars is None:
        return Finding(
            f"{group} jars",
            "fail",
            f"not resolved in {jars_dir(group)} for the pinned versions",
            _JAR_FIX,
        )
    return Finding(f"{group} jars", "ok", f"{len(jars)} jars in {jars_dir(group)}")


def _memory(machine: Machine) -> Finding:
    """Total and free memory against what lessons 04–06 were measured to use at most."""
    driver = env_memory("LAB_DRIVER_MEMORY", DRIVER_MEMORY)
    resident = 0 if machine.available_memory is None else _lab_resident_memory()
    return Finding("Memory", *machine.memory_verdict(resident, driver))


def _lab_resident_memory() -> int:
    """What this process (a kernel, with its Spark JVM) and a running broker hold already."""
    pids = [os.getpid()]
    if not KafkaSettings.external_cluster_configured():
        broker = EmbeddedBroker().status()
        if broker.pid is not None:
            pids.append(broker.pid)
    return resident_memory(pids)


def _disk() -> Finding:
    free_gb = shutil.disk_usage(PROJECT_ROOT).free / 1024**3
    found = f"{free_gb:.1f} GB free under {PROJECT_ROOT}"
    if free_gb >= MIN_FREE_DISK_GB:
        return Finding("Disk space", "ok", found)
    fix = f"free at least {MIN_FREE_DISK_GB:.0f} GB (`make clean` deletes tables, checkpoints and broker data)"
    return Finding("Disk space", "fail", found, fix)


def _broker_ports() -> Finding:
    name = "Broker ports"
    if KafkaSettings.external_cluster_configured():
        bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return Finding(
            name, "skip", f"KAFKA_BOOTSTRAP_SERVERS={bootstrap}: the lab starts no broker"
        )
    broker = EmbeddedBroker()
    status = broker.status()
    if status.running:
        return Finding(name, "ok", f"in use by the lab's broker (pid {status.pid})")
    busy = [
        port
        for port in (DEFAULT_BROKER_PORT, broker.controller_port)
        if port_open("127.0.0.1", port, 0.5)
    ]
    if busy:
        alternative = DEFAULT_BROKER_PORT + 10
        return Finding(
            name,
            "fail",
            f"port {', '.join(map(str, busy))} is in use by another program (another Kafka? docker?)",
            # both exported: every make target and command then agrees on the other port
            f"stop it, or `export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{alternative} "
            f"PORT={alternative}`, then `make start`",
        )
    return Finding(
        name, "ok", f"{DEFAULT_BROKER_PORT} and {broker.controller_port} are free for the broker"
    )


def _jupyter_port() -> Finding:
    name = "Jupyter port"
    if not port_open("127.0.0.1", JUPYTER_PORT, 0.5):
        return Finding(name, "ok", f"{JUPYTER_PORT} is free for `make lab`")
    if "ipykernel" in sys.modules:
        return Finding(name, "ok", f"{JUPYTER_PORT} is in use (most likely by this Jupyter)")
    return Finding(
        name,
        "warn",
        f"{JUPYTER_PORT} is in use (a Jupyter already running?)",
        "optional: `make lab` then picks the next free port; or open the running one",
    )


def _broker_fix(settings: KafkaSettings) -> str:
    if KafkaSettings.external_cluster_configured():
        return "check KAFKA_BOOTSTRAP_SERVERS (and KAFKA_SASL_*), and that the cluster is up"
    return "start it: `make start` (in a notebook: `lesson.ensure_broker()`)"


def _lab_broker_running() -> bool:
    return EmbeddedBroker().status().running


def _broker_from_python(settings: KafkaSettings) -> Finding:
    name = "Kafka from Python"
    if not broker_reachable(settings):
        # the lab's own broker (no other Kafka asked for), not started yet: nothing to check
        own = "-" if os.getenv("KAFKA_BOOTSTRAP_SERVERS") else f"127.0.0.1:{DEFAULT_BROKER_PORT}"
        if settings.bootstrap_servers == own and not _lab_broker_running():
            return Finding(
                name,
                "warn",
                "the lab's broker is not running, so Kafka was not checked",
                "`make start`, then `make preflight` again (make run and the lessons start it)",
            )
        return Finding(
            name, "fail", f"nothing answers at {settings.bootstrap_servers}", _broker_fix(settings)
        )
    metadata = admin_client(settings).list_topics(timeout=5)
    return Finding(
        name,
        "ok",
        f"{settings.bootstrap_servers} answers: {len(metadata.brokers)} broker(s), "
        f"{len(metadata.topics)} topic(s)",
    )


def _topic(settings: KafkaSettings, topic: str) -> Finding:
    name = "Topic"
    described = admin_client(settings).list_topics(timeout=5).topics.get(topic)
    if described is None:
        return Finding(
            name,
            "fail",
            f"{topic} does not exist",
            f"`python -m labsupport topic create --name {topic}` (in a notebook: `lesson.ensure_broker()`)",
        )
    return Finding(name, "ok", f"{topic}: {len(described.partitions)} partitions")


def _spark_session(spark: SparkSession) -> Finding:
    return Finding(
        "Spark session",
        "ok",
        f"Spark {spark.version}, master {spark.sparkContext.master}, "
        f"session time zone {spark.conf.get('spark.sql.session.timeZone')}",
    )


def _spark_kafka(spark: SparkSession, settings: KafkaSettings, topic: str) -> Finding:
    records = (
        spark.read.format("kafka")
        .options(**settings.spark_options())
        .options(**_SPARK_KAFKA_TIMEOUTS)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load()
        .count()
    )
    return Finding(
        "Kafka from Spark", "ok", f"Spark's Kafka source read {topic} ({records} records)"
    )


def _delta(spark: SparkSession) -> Finding:
    with tempfile.TemporaryDirectory(prefix="lab-preflight-") as folder:
        path = os.path.join(folder, "table")
        spark.range(3).write.format("delta").save(path)
        rows = spark.read.format("delta").load(path).count()
    if rows != 3:
        return Finding("Delta", "fail", f"wrote 3 rows, read back {rows}", "`make setup`")
    return Finding("Delta", "ok", "wrote and read back a 3-row table in a temporary folder")


# --- The whole run -------------------------------------------------------------------------------
def preflight(
    *,
    settings: KafkaSettings | None = None,
    topic: str = TOPIC,
    spark: SparkSession | None = None,
    start_spark: bool = True,
    machine: Machine | None = None,
) -> list[Finding]:
    """Check every requirement of the lab; return one :class:`Finding` per check, never raise.

    ``settings`` default to the environment (``KAFKA_BOOTSTRAP_SERVERS``, else the embedded
    broker's address); ``topic`` is the one Spark's Kafka source reads (a notebook passes its
    lesson's topic). Pass the running ``spark`` session, or let preflight start the lab's
    session with ``start_spark=True`` (it is not stopped: ``get_spark()`` reuses it);
    ``start_spark=False`` skips the Spark and Delta checks, and so do missing jars (starting
    Spark would download them). ``machine`` defaults to this one (:meth:`Machine.this`).
    """
    settings = settings or KafkaSettings.from_env()
    machine = machine or Machine.this()
    findings = [
        _guarded(
            "Operating system",
            "use Linux, macOS or WSL 2",
            lambda: Finding("Operating system", *machine.system_verdict()),
        ),
        _guarded("Python", "install Python 3.10+", _python),
        _guarded("Python packages", "`make setup`", _packages),
        java := _guarded("Java", "install a JDK 17+ and set JAVA_HOME to it", _java),
        spark_jars := _guarded("spark jars", _JAR_FIX, lambda: _jars("spark")),
        _guarded("broker jars", _JAR_FIX, lambda: _jars("broker")),
        _guarded("Memory", "set LAB_DRIVER_MEMORY as it says", lambda: _memory(machine)),
        _guarded("Disk space", "free some disk space", _disk),
        _guarded("Broker ports", "stop the program that holds the port", _broker_ports),
        _guarded("Jupyter port", "optional", _jupyter_port),
    ]
    kafka = _guarded(
        "Kafka from Python", _broker_fix(settings), lambda: _broker_from_python(settings)
    )
    findings.append(kafka)
    topic_found = (
        _guarded("Topic", "`python -m labsupport topic create`", lambda: _topic(settings, topic))
        if kafka.status == "ok"
        else Finding("Topic", "skip", "needs Kafka")
    )
    findings.append(topic_found)

    session: Finding
    needs = "needs Java" if not java.ok else "needs the jars" if not spark_jars.ok else ""
    if spark is None and start_spark and not needs:
        spark, session = _start_session()
    elif spark is not None:
        running = spark
        session = _guarded("Spark session", "`make setup`", lambda: _spark_session(running))
    else:
        session = Finding("Spark session", "skip", needs if start_spark else "not requested")
    findings.append(session)

    spark_fix = (
        "the connector or Delta jar is missing from spark.jars: `make setup`, then restart the "
        "kernel (or the Python process) so the session starts with them"
    )
    no_session = needs if spark is None and needs else "needs a Spark session"
    if spark is not None and session.ok and topic_found.status == "ok":
        findings.append(
            _guarded("Kafka from Spark", spark_fix, lambda: _spark_kafka(spark, settings, topic))
        )
    else:
        missing = "needs the topic" if spark is not None and session.ok else no_session
        findings.append(Finding("Kafka from Spark", "skip", missing))
    if spark is not None and session.ok:
        findings.append(_guarded("Delta", spark_fix, lambda: _delta(spark)))
    else:
        findings.append(Finding("Delta", "skip", no_session))
    return findings


def _start_session() -> tuple[SparkSession | None, Finding]:
    """Start the lab's session (``get_spark``); on failure, no session and a ``fail`` finding."""
    from labsupport.spark import get_spark

    fix = "`make setup`, then try again (the message above names what is missing)"
    try:
        spark = get_spark()
    except Exception as error:
        return None, Finding("Spark session", "fail", _describe(error), fix)
    return spark, _spark_session(spark)


def show_findings(findings: Sequence[Finding], console: Console | None = None) -> None:
    """Print the findings as a table (rich: coloured in a terminal, HTML in Jupyter)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Streaming Lab preflight", show_lines=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("found")
    table.add_column("fix")
    for finding in findings:
        style = _STYLE[finding.status]
        table.add_row(
            f"[{style}]{_SYMBOL[finding.status]}[/]",
            finding.name,
            finding.detail,
            f"[{style}]{finding.fix}[/]" if finding.status in {"fail", "warn"} else "",
        )
    out = console if console is not None else Console()
    out.print(table)
    failed = [f.name for f in findings if f.status == "fail"]
    if failed:
        out.print(f"[bold red]{len(failed)} problem(s) to fix: {', '.join(failed)}[/]")
    else:
        out.print("[green]Everything the lab needs is in place.[/]")


def check_preflight(findings: Sequence[Finding]) -> CheckResult:
    """A lesson check: passed when no finding failed (warnings and skips are fine)."""
    failed = [f for f in findings if f.status == "fail"]
    if not failed:
        return CheckResult.ok(f"preflight: {len(findings)} checks, no problem found")
    return CheckResult.fail(
        "preflight found " + "; ".join(f"{f.name}: {f.detail}" for f in failed),
        "; ".join(f"{f.name}: {f.fix}" for f in failed),
    )


def run_preflight_cli(
    bootstrap_servers: str | None = None, topic: str = TOPIC, spark: bool = True
) -> int:
    """``python -m labsupport preflight``: print the table; exit code 1 when something failed.

    A Spark session started here is stopped before returning.
    """
    from pyspark.sql import SparkSession

    had_session = SparkSession.getActiveSession() is not None
    try:
        findings = preflight(
            settings=KafkaSettings.from_env(bootstrap_servers), topic=topic, start_spark=spark
        )
    finally:
        if not had_session:
            from labsupport.spark import stop_spark

            stop_spark()
    show_findings(findings)
    return 0 if all(f.ok for f in findings) else 1
