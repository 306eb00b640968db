"""The embedded broker's lifecycle: idempotent start, data kept across restarts, clear errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from labsupport.broker import EmbeddedBroker
from labsupport.config import KafkaSettings
from labsupport.errors import LabError
from labsupport.net import free_port
from labsupport.topics import ensure_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
def own_broker(tmp_path):
    """A second embedded broker just for lifecycle tests, always stopped."""
    broker = EmbeddedBroker(port=free_port(), controller_port=free_port(), home=tmp_path / "broker")
    yield broker
    broker.stop()


def test_start_twice_is_harmless_and_stop_then_start_keeps_topic_data(own_broker):
    bootstrap = own_broker.start()
    first_pid = own_broker.status().pid
    assert own_broker.start() == bootstrap
    assert own_broker.status().pid == first_pid, "a second start must reuse the running broker"

    settings = KafkaSettings(bootstrap_servers=bootstrap)
    assert ensure_topic(settings, "kept") is True
    producer = Producer(settings.client_config())
    producer.produce("kept", key=b"k", value=b"survives a restart")
    assert producer.flush(10) == 0

    assert own_broker.stop() is True
    assert own_broker.status().running is False
    assert own_broker.stop() is False
    own_broker.start()

    assert ensure_topic(settings, "kept") is False, "the topic must still exist after a restart"
    consumer = Consumer(
        {**settings.client_config(), "group.id": "lifecycle", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe(["kept"])
    values = []
    try:
        for _ in range(30):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                values.append(message.value())
                break
    finally:
        consumer.close()
    assert values == [b"survives a restart"]


def test_port_in_use_is_a_clear_one_line_error(own_broker):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", own_broker.port))
        squatter.listen()
        with pytest.raises(LabError, match=rf"Port {own_broker.port} is already in use") as error:
            own_broker.start()
    assert "\n" not in str(error.value)


def test_stale_pid_file_is_cleaned_up(own_broker):
    own_broker.home.mkdir(parents=True)
    (own_broker.home / "broker.pid").write_text('{"pid": 999999, "port": 1}')
    status = own_broker.status()
    assert status.running is False
    assert not (own_broker.home / "broker.pid").exists()


def test_cluster_ids_never_start_with_a_dash():
    """The storage tool would read ``-xyz`` as an option and the broker would not start."""
    from labsupport.broker import new_cluster_id

    ids = [new_cluster_id() for _ in range(2000)]  # a dash would lead about 31 of them
    assert not any(cluster_id.startswith("-") for cluster_id in ids)
    assert all(len(cluster_id) == 22 for cluster_id in ids) and len(set(ids)) == len(ids)


def test_a_pid_reused_by_another_process_is_never_signalled(own_broker):
    own_broker.home.mkdir(parents=True)
    (own_broker.home / "broker.pid").write_text(json.dumps({"pid": os.getpid(), "port": 1}))
    assert own_broker.stop() is False  # this test's own process: not a broker, left alone
    assert not (own_broker.home / "broker.pid").exists()


def test_stop_returns_when_the_brokers_parent_never_reaps_it(own_broker):
    """A broker started by a notebook kernel is the kernel's child: stopped from a terminal, it
    stays a zombie until the kernel reaps it. ``stop`` must not wait for that."""
    starter = subprocess.Popen(
        [sys.executable, "-c", _START_AND_LINGER.format(
            port=own_broker.port, controller=own_broker.controller_port, home=str(own_broker.home))],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert starter.stdout.readline().strip() == "started"
        started = time.monotonic()
        assert own_broker.stop(timeout=20) is True
        assert time.monotonic() - started < 30
        assert own_broker.status().running is False
    finally:
        starter.kill()
        starter.wait(10)


def test_two_starts_at_once_run_one_broker(own_broker):
    with ThreadPoolExecutor(2) as pool:
        addresses = list(pool.map(lambda _: own_broker.start(), range(2)))
    assert addresses[0] == addresses[1] == own_broker.bootstrap_servers
    pid = own_broker.status().pid
    brokers = [
        p for p in Path("/proc").glob("[0-9]*")
        if _cmdline(p).count("kafka.Kafka") and str(own_broker.home) in _cmdline(p)
    ]  # fmt: skip
    assert [int(p.name) for p in brokers] == [pid], "exactly one broker, the one the pid file names"


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


_START_AND_LINGER = """
import time
from pathlib import Path
from labsupport.broker import EmbeddedBroker
EmbeddedBroker(port={port}, controller_port={controller}, home=Path({home!r})).start()
print("started", flush=True)
time.sleep(600)  # alive, and never reaps its child: the stopped broker stays a zombie
"""
