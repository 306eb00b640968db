"""The command line answers a learner's mistakes with one line that names the fix."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import time

import pytest

from labsupport.config import PROJECT_ROOT, LabPaths
from labsupport.net import free_port
from labsupport.runner import create_tables
from tests.commands import LABSUPPORT, PRODUCER, refusal, run
from tests.streaming import bronze_frame, event


def labsupport(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labsupport", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_a_bad_trigger_is_one_clear_line():
    result = labsupport("pipeline", "run", "--trigger", "soon")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: argument --trigger: 'soon' is not an interval like '30 seconds' or "
        "'available-now' (see --help)"
    ]


def test_an_unreachable_broker_is_reported_quickly_not_a_hang():
    started = time.monotonic()
    result = labsupport("topic", "create", "--bootstrap-servers", f"127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "did not answer" in result.stderr and "make start" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 60


def test_an_external_cluster_means_the_lab_starts_no_broker():
    result = labsupport("broker", "start", KAFKA_BOOTSTRAP_SERVERS="kafka.example:9092")
    assert result.returncode == 0
    assert "does not start or stop its own broker" in result.stdout


@pytest.mark.parametrize("name", ["bronze_check", "gold_revenue"])
def test_sql_command_offers_the_design_queries(name):
    result = labsupport("sql", "--help")
    assert name in result.stdout


@pytest.mark.kafka
def test_make_run_stops_its_producer_when_spark_fails_to_start(kafka, topic, tmp_path):
    result = labsupport(
        "run", "--bootstrap-servers", kafka.bootstrap_servers, "--topic", topic,
        "--delta-root", str(tmp_path / "d"), "--checkpoint-root", str(tmp_path / "c"),
        LAB_DRIVER_MEMORY="lots",  # read when Spark starts, after the producer has started
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: LAB_DRIVER_MEMORY='lots'")
    pid = int(re.search(r"\(pid (\d+)\)", result.stdout).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped, not left sending


# --- a newcomer's first hour: the rate, the wrong Python, finding an order, a piped run ---------


def _in_the_project(
    command: list[str], *, leave_out: tuple[str, ...]
) -> subprocess.CompletedProcess:
    """``command`` run in the project's folder, without the variables in ``leave_out``."""
    env = {k: v for k, v in os.environ.items() if k not in leave_out}
    return subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, env=env, check=False
    )


def _make(*args: str) -> subprocess.CompletedProcess:
    """``make`` in the project as a learner types it (no flags inherited from a make above us)."""
    return _in_the_project(
        ["make", "--no-print-directory", *args], leave_out=("MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    )


@pytest.mark.parametrize(
    "target,command",
    [("run", "-m labsupport run --rate 50"), ("produce", "-m producer.order_producer --rate 50")],
)
def test_make_passes_the_rate_on(target, command):
    printed = _make("-n", target, "RATE=50").stdout
    assert command in printed, printed


@pytest.mark.parametrize("rate", ["-1", "0", "abc", ""])
def test_make_refuses_a_rate_that_is_not_one_before_anything_starts(rate):
    # PY and PYTHON name a program that fails at once: were the check passed, nothing real would run
    result = _make("run", f"RATE={rate}", "PY=false", "PYTHON=false")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == (
        f"error: RATE={rate} is not a rate: give events per second above 0, e.g. RATE=50."
    )
    assert result.stdout == ""  # no setup, no broker: the rate is checked first


@pytest.mark.parametrize("rate", ["-1", "0", "abc"])
@pytest.mark.parametrize(
    "command", [(*LABSUPPORT, "run"), PRODUCER], ids=["labsupport", "producer"]
)
def test_both_command_lines_refuse_a_rate_that_is_not_one(command, rate):
    line = refusal(run(command, "--rate", rate))
    assert line.startswith(f"error: argument --rate: '{rate}' ")
    assert line.endswith(("must be a number above 0 (see --help)", "is not a number (see --help)"))


def _python_without_the_lab_packages(*args: str) -> subprocess.CompletedProcess:
    """The venv's Python started with ``-S``: no site-packages, like ``python3`` outside the venv."""
    return _in_the_project([sys.executable, "-S", *args], leave_out=("PYTHONPATH",))


@pytest.mark.parametrize(
    "args,command",
    [
        (("-m", "labsupport", "gold"), "labsupport"),
        (("-m", "producer.order_producer", "--count", "1"), "producer.order_producer"),
        (("producer/order_producer.py", "--count", "1"), "producer.order_producer"),
    ],
    ids=["labsupport", "producer", "producer-file"],
)
def test_a_python_without_the_lab_packages_says_what_to_do_in_one_line(args, command):
    assert _python_without_the_lab_packages("-c", "import rich").returncode == 1  # the premise
    result = _python_without_the_lab_packages(*args)
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"error: The lab's packages are not installed in this Python ({sys.executable}, no "
    )
    assert line.endswith(
        f"run `make setup`, then use `.venv/bin/python -m {command} …` or "
        "`source .venv/bin/activate`."
    )


def test_native_windows_is_pointed_to_wsl2_before_anything_is_imported():
    code = "import os, runpy; os.name = 'nt'; runpy.run_module('labsupport', run_name='__main__')"
    result = _python_without_the_lab_packages("-c", code)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        "error: Streaming Lab runs on Linux, macOS and Windows through WSL2: install WSL2"
    )


@pytest.mark.parametrize(
    "command",
    [(*LABSUPPORT, "topic", "create"), (*PRODUCER, "--count", "1", "--connect-timeout", "2")],
    ids=["labsupport", "producer"],
)
def test_an_unreachable_cluster_named_by_the_environment_is_not_sent_to_make_start(command):
    line = refusal(run(command, KAFKA_BOOTSTRAP_SERVERS="kafka.invalid:9092"))
    assert "did not answer" in line
    assert "KAFKA_BOOTSTRAP_SERVERS is set, so the lab uses that cluster and starts none" in line
    assert "`unset KAFKA_BOOTSTRAP_SERVERS`" in line
    assert "start it with `make start`" not in line


def test_an_address_on_this_machine_is_told_how_make_start_serves_it():
    port = free_port()
    line = refusal(
        run((*LABSUPPORT, "topic", "create"), KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}")
    )
    assert f"start a broker there (`export PORT={port}`, then `make start`)" in line
    assert "`unset KAFKA_BOOTSTRAP_SERVERS`" in line


def test_every_error_the_lab_prints_has_one_prefix():
    """``error: ...`` everywhere (argparse's own form), never ``Error: ...``: one form to grep for."""
    sources = [
        *(PROJECT_ROOT / "labsupport").rglob("*.py"),
        *(PROJECT_ROOT / "producer").rglob("*.py"),
        *(PROJECT_ROOT / "bench").glob("*.py"),
    ]
    other_forms = [
        f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.match(r"\s*(Error|ERROR|Warning|WARNING):", node.value)
    ]
    assert other_forms == []
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "Error:" not in makefile and "error: RATE=" in makefile


@pytest.fixture
def orders(spark, tmp_path):
    """Tables holding three Bronze records of two orders (o-1 placed then cancelled, o-2 placed)."""
    paths = LabPaths.under(tmp_path)
    create_tables(spark, paths)
    events = [
        event("o-1", "10:01:00"),
        event("o-2", "10:02:00"),
        event("o-1", "10:03:00", event_type="ORDER_CANCELLED"),
    ]
    bronze_frame(spark, events).write.format("delta").mode("append").save(paths.bronze)
    return paths


def _where(capsys, paths: LabPaths, *order_id: str) -> tuple[int, str, str]:
    from labsupport.cli import main

    where = str(paths.delta_root), str(paths.checkpoint_root)
    code = main(["where", *order_id, "--delta-root", where[0], "--checkpoint-root", where[1]])
    printed = capsys.readouterr()
    return code, printed.out, printed.err


@pytest.mark.spark
def test_where_without_an_id_offers_the_orders_bronze_received_last(orders, capsys):
    code, out, _ = _where(capsys, orders)
    assert code == 0
    assert out.splitlines()[:3] == [
        "The orders Bronze received last, newest first:",
        "  o-1  (last event: ORDER_CANCELLED)",
        "  o-2  (last event: ORDER_PLACED)",
    ]
    assert "`make where ID=o-2`" in out


@pytest.mark.spark
def test_where_answers_for_an_order_and_refuses_an_unknown_one_in_one_line(orders, capsys):
    code, out, _ = _where(capsys, orders, "o-2")
    assert code == 0
    assert out.splitlines() == ["Bronze (partition 0 offset 1): not read by the Gold query yet"]
    code, out, err = _where(capsys, orders, "o-404")
    assert code == 1 and out == ""
    [line] = err.splitlines()
    assert line.startswith("error: No record of order o-404 in Bronze or quarantine: ")
    assert "`make where` without ID lists the orders" in line


@pytest.mark.spark
def test_where_on_an_empty_bronze_says_what_to_run(spark, tmp_path, capsys):
    paths = LabPaths.under(tmp_path)
    create_tables(spark, paths)
    code, _, err = _where(capsys, paths)
    assert code == 1
    [line] = err.splitlines()
    assert "holds no events yet: run the producer and the pipeline (`make run`)" in line


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
def test_a_piped_run_prints_as_it_goes_and_its_counts_add_up(kafka, topic, tmp_path):
    result = subprocess.run(
        [*LABSUPPORT, "run", "--bootstrap-servers", kafka.bootstrap_servers, "--topic", topic,
         "--delta-root", str(tmp_path / "d"), "--checkpoint-root", str(tmp_path / "c"),
         "--rate", "20", "--trigger", "5 seconds", "--duration", "30"],
        capture_output=True, text=True, timeout=400, check=False,
        env={k: v for k, v in os.environ.items() if k != "COLUMNS"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    producer = next(i for i, line in enumerate(lines) if line.startswith("Producer: sent "))
    # while it runs: each micro-batch in words, and the Gold table printed whole, not cut at 80
    during = "\n".join(lines[:producer])
    assert re.search(r"^Bronze query, batch \d+: read [\d,]+ records$", during, re.M)
    assert re.search(r"^quarantine query, batch \d+: read [\d,]+ records$", during, re.M)
    gold = r"^Gold query, batch \d+: read [\d,]+ records, (no watermark yet|watermark \d)"
    assert re.search(gold, during, re.M)
    assert "Gold — newest 5-minute windows" in during
    assert any("window (UTC)" in line and "customers" in line for line in lines), during
    assert "…" not in result.stdout
    # at the end, each count on its own line, and what is not in a table yet is accounted for
    acknowledged = int(re.search(r"acknowledged ([\d,]+)", lines[producer])[1].replace(",", ""))
    added = re.search(
        r"^Bronze: [\d,]+ rows \(\+([\d,]+) in this run\), quarantine: [\d,]+ rows "
        r"\(\+([\d,]+) in this run\), Gold: [\d,]+ rows$",
        result.stdout,
        re.M,
    )
    assert added, result.stdout[-2000:]
    waiting = re.search(
        r"^([\d,]+) records on the topic are not in Bronze or quarantine yet: "
        r"they arrived after the last trigger and wait for the next one",
        result.stdout,
        re.M,
    )
    unread = int(waiting[1].replace(",", "")) if waiting else 0
    if not waiting:
        assert "Every record on the topic is in Bronze or quarantine" in result.stdout
    in_tables = sum(int(count.replace(",", "")) for count in added.groups())
    assert in_tables + unread == acknowledged
    # Spark's warnings stay quiet (the stateful Gold query's "Disabling AQE" among them)
    assert "Disabling AQE" not in result.stderr
    assert [line for line in result.stderr.splitlines() if " WARN " in line] == []
