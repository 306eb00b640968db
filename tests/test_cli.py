"""The command line answers a learner's mistakes with one line that names the fix."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

from labsupport.net import free_port


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
