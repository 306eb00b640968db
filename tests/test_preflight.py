"""The preflight names every problem with its fix, skips what depends on it, and never hangs."""

from __future__ import annotations

import time

import pytest
from rich.console import Console

from labsupport.config import KafkaSettings
from labsupport.net import free_port
from labsupport.preflight import (
    Finding,
    check_preflight,
    preflight,
    run_preflight_cli,
    show_findings,
)

NAMES = [
    "Python",
    "Python packages",
    "Java",
    "spark jars",
    "broker jars",
    "Disk space",
    "Broker ports",
    "Jupyter port",
    "Kafka from Python",
    "Topic",
    "Spark session",
    "Kafka from Spark",
    "Delta",
]


def _by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.name: finding for finding in findings}


@pytest.mark.kafka
@pytest.mark.spark
def test_everything_passes_on_a_working_lab(kafka, topic, spark, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    findings = preflight(settings=kafka, topic=topic, spark=spark)
    assert [f.name for f in findings] == NAMES
    found = _by_name(findings)
    assert all(f.ok for f in findings), [str(f) for f in findings if not f.ok]
    for name in (
        "Java",
        "Kafka from Python",
        "Topic",
        "Spark session",
        "Kafka from Spark",
        "Delta",
    ):
        assert found[name].status == "ok", str(found[name])
    assert found["Broker ports"].status == "skip", "an external cluster needs no local ports"
    assert check_preflight(findings)


def test_a_broker_that_is_down_is_named_with_its_fix_without_hanging(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    down = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    found = _by_name(preflight(settings=down, topic="order-events", start_spark=False))
    assert time.monotonic() - started < 30
    assert found["Kafka from Python"].status == "fail"
    assert "nothing answers" in found["Kafka from Python"].detail
    assert "make start" in found["Kafka from Python"].fix
    assert found["Topic"].status == "skip"
    assert found["Kafka from Spark"].status == "skip"
    result = check_preflight(list(found.values()))
    assert not result and "make start" in result.hint


@pytest.mark.kafka
def test_a_missing_topic_is_named_with_its_fix(kafka):
    found = _by_name(preflight(settings=kafka, topic="no-such-topic", start_spark=False))
    assert found["Kafka from Python"].status == "ok"
    assert found["Topic"].status == "fail"
    assert "topic create --name no-such-topic" in found["Topic"].fix
    assert found["Kafka from Spark"].status == "skip"


def test_the_table_shows_each_finding_and_its_fix():
    console = Console(record=True, width=200)
    show_findings(
        [
            Finding("Java", "ok", "Java 17"),
            Finding("Topic", "fail", "order-events missing", "make start"),
        ],
        console=console,
    )
    text = console.export_text()
    assert "Java 17" in text and "order-events missing" in text and "make start" in text
    assert "1 problem(s) to fix: Topic" in text


def test_the_command_line_exits_1_when_something_fails(monkeypatch, capsys):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    assert run_preflight_cli(f"127.0.0.1:{free_port()}", spark=False) == 1
    assert "Kafka from Python" in capsys.readouterr().out
