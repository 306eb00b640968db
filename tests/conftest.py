"""Shared fixtures: one real Kafka broker and one Spark session for the whole run.

Which Kafka the suite uses, in order:
1. ``KAFKA_BOOTSTRAP_SERVERS`` when set (docker compose, a remote cluster);
2. testcontainers' Kafka when a Docker engine answers a ping (a laptop with Docker);
3. the lab's embedded broker, started on free ports in a temporary folder and stopped after.
All three are real Apache Kafka. The pytest header says which one this run used.
Each test gets fresh topic names and temporary checkpoint folders, so tests never share state.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from labsupport.config import KafkaSettings
from labsupport.net import free_port
from labsupport.versions import KAFKA_VERSION
from tests.notebook_runner import write_copies_index

_KAFKA_SOURCE: dict[str, str] = {"kind": "not started"}


def docker_engine_answers() -> bool:
    """A ``docker`` binary proves nothing; only an engine that answers a ping does."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def pytest_report_header(config: pytest.Config) -> str:
    if KafkaSettings.external_cluster_configured():
        return f"kafka: KAFKA_BOOTSTRAP_SERVERS={os.environ['KAFKA_BOOTSTRAP_SERVERS']}"
    return "kafka: testcontainers if a Docker engine answers, else the lab's embedded broker"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test taking the ``kafka`` or ``spark`` fixture gets that marker (so the quick tier
    leaves it out); streaming runs (marked ``slow``) first, the rest in their order after.

    ``make test`` spreads tests over two xdist workers as they free up; a minutes-long notebook
    started last would run alone while the other worker sits idle.
    """
    for item in items:  # a test that takes the broker or the session is in that tier, marked or not
        for fixture in ("kafka", "spark"):
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(fixture)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


_NOTEBOOK_TIMES: list[str] = []
_KAFKA_USED: set[str] = set()


@pytest.fixture(autouse=True)
def _report_the_kafka_used(record_property: Callable[[str, object], None]) -> Iterator[None]:
    yield
    if _KAFKA_SOURCE["kind"] != "not started":
        record_property("kafka_used", _KAFKA_SOURCE["kind"])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect what tests recorded with ``record_property`` (it reaches here from xdist workers too)."""
    for key, value in report.user_properties:
        if key in ("notebook_seconds", "bundle") and report.when == "call":
            _NOTEBOOK_TIMES.append(str(value))
        elif key == "kafka_used":
            _KAFKA_USED.add(str(value))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _NOTEBOOK_TIMES:
        terminalreporter.write_sep("-", "notebook execution times (LAB_FAST=1), bundle size")
        for line in sorted(_NOTEBOOK_TIMES):
            terminalreporter.write_line(line)
    used = "; ".join(sorted(_KAFKA_USED)) or "not started"
    terminalreporter.write_line(f"kafka used by this run: {used}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """After ``make test`` or ``make html`` (not in an xdist worker): index the executed copies."""
    folder = os.environ.get("LAB_EXECUTED_DIR")
    if folder and Path(folder).is_dir() and not hasattr(session.config, "workerinput"):
        write_copies_index(Path(folder))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSettings]:
    """A real Kafka cluster for the whole test session."""
    if KafkaSettings.external_cluster_configured():
        _KAFKA_SOURCE["kind"] = "external cluster from KAFKA_BOOTSTRAP_SERVERS"
        yield KafkaSettings.from_env()
        return
    if docker_engine_answers():
        # testcontainers' own KafkaContainer only runs Confluent's image: see tests/kafka_container.py.
        from tests.kafka_container import APACHE_KAFKA_IMAGE, ApacheKafkaContainer

        with ApacheKafkaContainer(APACHE_KAFKA_IMAGE) as container:
            _KAFKA_SOURCE["kind"] = f"testcontainers {APACHE_KAFKA_IMAGE}"
            yield KafkaSettings(bootstrap_servers=container.get_bootstrap_server())
        return
    from labsupport.broker import EmbeddedBroker

    broker = EmbeddedBroker(
        port=free_port(), controller_port=free_port(), home=tmp_path_factory.mktemp("broker")
    )
    try:
        bootstrap = broker.start()
        _KAFKA_SOURCE["kind"] = f"embedded broker (Kafka {KAFKA_VERSION}) at {bootstrap}"
        yield KafkaSettings(bootstrap_servers=bootstrap)
    finally:
        broker.stop()


@contextmanager
def fresh_topic(kafka: KafkaSettings, prefix: str = "test") -> Iterator[str]:
    """A new topic made like the lab's (3 partitions, LogAppendTime), deleted at the end."""
    from labsupport.topics import delete_topic, ensure_topic

    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    ensure_topic(kafka, name)
    try:
        yield name
    finally:
        delete_topic(kafka, name)


@pytest.fixture
def topic(kafka: KafkaSettings) -> Iterator[str]:
    """A fresh topic for one test."""
    with fresh_topic(kafka) as name:
        yield name


@pytest.fixture(scope="session")
def spark():
    """The lab's own Spark session (the same builder the notebooks use), stopped at the end."""
    from labsupport.spark import get_spark

    session = get_spark()
    yield session
    session.stop()
