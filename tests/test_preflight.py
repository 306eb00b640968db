"""The preflight names every problem with its fix, skips what depends on it, and never hangs.

It knows the room (the operating system, memory, ports) and changes nothing: missing jars are
reported, not downloaded. The machine is a parameter, so Windows and WSL are judged here too.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from labsupport import preflight as preflight_module
from labsupport.broker import EmbeddedBroker
from labsupport.config import PROJECT_ROOT, KafkaSettings
from labsupport.jars import cached_jars, ensure_jars
from labsupport.machine import (
    GB,
    LESSON_PEAK_MEMORY,
    LESSON_PEAK_MEMORY_1G,
    MEMORY_HEADROOM,
    Machine,
    resident_memory,
)
from labsupport.net import free_port
from labsupport.preflight import (
    Finding,
    check_preflight,
    preflight,
    run_preflight_cli,
    show_findings,
)
from tests.commands import LABSUPPORT, run

NAMES = [
    "Operating system",
    "Python",
    "Python packages",
    "Java",
    "spark jars",
    "broker jars",
    "Memory",
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


def test_the_labs_own_broker_not_started_yet_is_a_warning_not_a_failure(monkeypatch):
    """Pre-work is `make setup && make preflight`: a broker nobody started is not a problem."""
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    port = free_port()
    monkeypatch.setattr(preflight_module, "DEFAULT_BROKER_PORT", port)
    monkeypatch.setattr(preflight_module, "_lab_broker_running", lambda: False)
    own = KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}")
    found = _by_name(preflight(settings=own, topic="order-events", start_spark=False))
    assert found["Kafka from Python"].status == "warn", str(found["Kafka from Python"])
    assert "make start" in found["Kafka from Python"].fix
    assert found["Topic"].status == "skip"
    assert check_preflight(list(found.values()))


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


# --- The room: the operating system and memory --------------------------------------------------
WSL2 = "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0)"
WSL1 = "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) )"


def _quick_preflight(machine: Machine) -> dict[str, Finding]:
    """The preflight on ``machine`` with no Spark and a broker that is down: seconds, not minutes."""
    down = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    return _by_name(preflight(settings=down, start_spark=False, machine=machine))


def test_native_windows_fails_with_a_one_line_pointer_to_wsl2():
    windows = Machine(os_name="nt", system="Windows", version="11", total_memory=16 * GB)
    system = _quick_preflight(windows)["Operating system"]
    assert system.status == "fail"
    assert "native Windows 11" in system.detail
    assert "WSL2" in system.fix and "wsl --install" in system.fix and "\n" not in system.fix


@pytest.mark.parametrize(
    "machine,status,named",
    [
        (Machine(system="Linux", version="5.15.167.4", kernel=WSL2), "ok", "WSL 2"),
        (Machine(system="Linux", version="4.4.0-19041", kernel=WSL1), "warn", "WSL 1"),
        (
            Machine(system="Linux", version="6.8.0", kernel="Linux version 6.8.0 (gcc)"),
            "ok",
            "Linux",
        ),
        (Machine(os_name="posix", system="Darwin", version="14.5"), "ok", "macOS 14.5"),
        (Machine(os_name="posix", system="FreeBSD", version="14.1"), "warn", "FreeBSD"),
    ],
    ids=["wsl2", "wsl1", "linux", "macos", "other"],
)
def test_each_operating_system_is_named_and_judged(machine, status, named):
    verdict = machine.system_verdict()
    assert (verdict.status, named in verdict.detail) == (status, True), verdict
    assert bool(verdict.fix) == (status != "ok")


def test_this_machine_is_read_as_what_it_is():
    machine = Machine.this()
    assert (machine.os_name, machine.system) == (os.name, platform.system())
    if machine.system == "Linux":
        wsl = "microsoft" in Path("/proc/version").read_text().lower()
        assert machine.kind in (("wsl1", "wsl2") if wsl else ("linux",))
        assert 0 < machine.available_memory <= machine.total_memory
    else:
        assert machine.kind == "macos" and machine.available_memory is None
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert GB < machine.total_memory <= physical


@pytest.mark.parametrize(
    "total,free,status,fix",
    [
        (LESSON_PEAK_MEMORY_1G - GB // 2, None, "fail", "GB or more"),
        (
            16 * GB,
            LESSON_PEAK_MEMORY,
            "warn",
            "close other programs; or `export LAB_DRIVER_MEMORY=1g`",
        ),
        (16 * GB, LESSON_PEAK_MEMORY + MEMORY_HEADROOM, "ok", ""),
        (LESSON_PEAK_MEMORY, None, "warn", "close other programs"),  # macOS: the total alone
        (None, None, "skip", ""),
    ],
    ids=["too-small", "busy", "enough", "macos-small", "unknown"],
)
def test_memory_is_judged_against_the_measured_need(total, free, status, fix):
    verdict = Machine(total_memory=total, available_memory=free).memory_verdict()
    assert verdict.status == status, verdict
    assert fix in verdict.fix and "\n" not in verdict.fix


def test_memory_the_lab_holds_already_counts_as_free_and_1g_drivers_need_less():
    busy = Machine(total_memory=16 * GB, available_memory=GB)
    assert busy.memory_verdict().status == "warn"
    assert busy.memory_verdict(lab_resident=LESSON_PEAK_MEMORY + GB).status == "ok"
    tight = Machine(total_memory=16 * GB, available_memory=LESSON_PEAK_MEMORY_1G + MEMORY_HEADROOM)
    assert tight.memory_verdict(driver_memory="2g").status == "warn"
    assert tight.memory_verdict(driver_memory="1g").status == "ok"
    short = Machine(total_memory=16 * GB, available_memory=GB).memory_verdict(driver_memory="1g")
    assert short.fix == "close other programs", "1g is set already: no point suggesting it"
    wsl = Machine(kernel="Linux 5.15 microsoft-standard-WSL2", total_memory=8 * GB,
                  available_memory=GB)  # fmt: skip
    assert "memory=6GB under [wsl2] in .wslconfig" in wsl.memory_verdict().fix
    assert ".wslconfig" not in busy.memory_verdict().fix


def test_the_preflight_reads_lab_driver_memory(monkeypatch):
    # a test worker may hold a Spark of its own, which would count as the lab's memory: none here
    monkeypatch.setattr(preflight_module, "_lab_resident_memory", lambda: 0)
    busy = Machine(total_memory=16 * GB, available_memory=GB)
    monkeypatch.setenv("LAB_DRIVER_MEMORY", "1g")
    assert _quick_preflight(busy)["Memory"].fix == "close other programs"
    monkeypatch.setenv("LAB_DRIVER_MEMORY", "lots")
    memory = _quick_preflight(busy)["Memory"]
    assert memory.status == "fail" and "LAB_DRIVER_MEMORY='lots'" in memory.detail
    assert "LAB_DRIVER_MEMORY" in memory.fix


def test_resident_memory_counts_a_process_and_its_descendants():
    child = subprocess.Popen(
        [sys.executable, "-c", "b = bytearray(64 << 20); print('ready', flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        alone = resident_memory([child.pid])
        assert alone >= 60 << 20, "the child's 64 MB, touched"
        assert resident_memory([os.getpid()]) >= alone, "a parent counts its children"
    finally:
        child.kill()
        child.wait(10)


# --- Read-only: missing jars are reported, never downloaded --------------------------------------
def test_cached_jars_reads_what_ensure_jars_resolved():
    for group in ("spark", "broker"):
        assert cached_jars(group) == ensure_jars(group, quiet=True)  # type: ignore[arg-type]


def test_without_jars_the_preflight_names_them_and_downloads_nothing(tmp_path):
    """A fresh LAB_HOME (no .lab/jars), in a process of its own, so nothing global changes."""
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)  # the pins: the lab reads them there
    result = run(
        LABSUPPORT,
        "preflight",  # Spark allowed: it must not start, or it would resolve the jars
        LAB_HOME=str(tmp_path),
        LAB_MAVEN_REPO=f"http://127.0.0.1:{free_port()}/maven2",  # a download would fail fast
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        COLUMNS="400",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split("│")[2].strip(): line for line in result.stdout.splitlines() if "│" in line}
    for group in ("spark", "broker"):
        assert (
            "✗" in rows[f"{group} jars"]
            and f"{tmp_path}/.lab/jars/{group}" in rows[f"{group} jars"]
        )
        assert "make setup" in rows[f"{group} jars"]
    for check in ("Spark session", "Kafka from Spark", "Delta"):
        assert "needs the jars" in rows[check], rows[check]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"], "it wrote nothing"


def test_make_preflight_installs_nothing(tmp_path):
    make = ["make", "-C", str(PROJECT_ROOT), "--no-print-directory", "preflight"]
    no_venv = f"VENV={tmp_path}/no-venv"  # as on a fresh clone: `make setup` has not run
    dry = subprocess.run([*make, "-n", no_venv], capture_output=True, text=True, check=True)
    assert "labsupport preflight" in dry.stdout
    for install in ("pip", "-m venv", "labsupport setup"):
        assert install not in dry.stdout, f"make preflight would run {install}: {dry.stdout}"
    missing = subprocess.run([*make, no_venv], capture_output=True, text=True, check=False)
    assert missing.returncode != 0
    assert missing.stdout.strip() == "No .venv here yet: run `make setup` first."
    assert not (tmp_path / "no-venv").exists()


# --- Busy ports: the broker's and Jupyter's -----------------------------------------------------
@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port some other program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_busy_broker_port_is_named_with_a_fix_that_moves_the_lab(
    busy_port, monkeypatch, tmp_path
):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setattr("labsupport.preflight.DEFAULT_BROKER_PORT", busy_port)
    lab_broker = functools.partial(EmbeddedBroker, port=busy_port, home=tmp_path / "broker")
    monkeypatch.setattr(
        "labsupport.preflight.EmbeddedBroker", lab_broker
    )  # not running: no pid file
    ports = _quick_preflight(Machine.this())["Broker ports"]
    assert ports.status == "fail" and f"port {busy_port} is in use" in ports.detail
    other = busy_port + 10
    export = f"`export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{other} PORT={other}`, then `make start`"
    assert export in ports.fix, "both exported: make start, stop and the commands use that port"


def test_a_busy_jupyter_port_is_a_warning_that_make_lab_works_around(busy_port, monkeypatch):
    monkeypatch.setattr("labsupport.preflight.JUPYTER_PORT", busy_port)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)  # not run inside Jupyter
    jupyter = _quick_preflight(Machine.this())["Jupyter port"]
    assert jupyter.status == "warn" and f"{busy_port} is in use" in jupyter.detail
    assert "next free port" in jupyter.fix
    assert jupyter.ok, "a warning: it does not stop the lab"
