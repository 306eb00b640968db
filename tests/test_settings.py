"""Every setting and argument is checked where it is read: a typo is one line naming it, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.commands import LABSUPPORT, PRODUCER, refusal, run


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LAB_MAX_OFFSETS_PER_TRIGGER", "abc", "is not a whole number"),
        ("LAB_MAX_OFFSETS_PER_TRIGGER", "0", "1 or more"),
        ("LAB_TRIGGER", "5 bananas", "'30 seconds' or 'available-now'"),
        ("LAB_STARTING_OFFSETS", "first", "earliest, latest"),
        ("KAFKA_SECURITY_PROTOCOL", "SASL", "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        ("KAFKA_SASL_MECHANISM", "PLAINTEXT", "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ],
)
@pytest.mark.parametrize("command", [LABSUPPORT, PRODUCER], ids=["labsupport", "producer"])
def test_a_bad_variable_is_one_line_naming_it_and_what_it_takes(command, variable, value, says):
    args = ("topic", "create") if command == LABSUPPORT else ("--count", "1")
    line = refusal(run(command, *args, **{variable: value}))
    assert line.startswith(f"error: {variable}={value!r}") and says in line


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LAB_SHUFFLE_PARTITIONS", "x", "is not a whole number"),
        ("LAB_DRIVER_MEMORY", "lots", "a memory size like 2g"),
        ("LAB_SPARK_UI", "maybe", "set it to 1 or 0"),
    ],
)
def test_spark_settings_are_checked_before_spark_starts(variable, value, says):
    probe = "from labsupport.spark import spark_config; spark_config()"
    line = refusal(run((sys.executable, "-c", probe), **{variable: value}))
    assert variable in line and says in line


def test_the_lessons_switches_accept_only_on_or_off():
    probe = "from labsupport.lesson import Lesson; Lesson('04', 'x').fast"
    line = refusal(run((sys.executable, "-c", probe), LAB_FAST="fastest"))
    assert line == "error: LAB_FAST='fastest' is not a switch: set it to 1 or 0 (or unset it)."


def test_a_password_without_a_username_is_an_error():
    line = refusal(run(LABSUPPORT, "topic", "create", KAFKA_SASL_PASSWORD="secret-value"))
    assert "KAFKA_SASL_PASSWORD is set without KAFKA_SASL_USERNAME" in line
    assert "secret-value" not in line


def test_an_available_now_trigger_does_not_break_the_producer():
    result = run(PRODUCER, "--help", LAB_TRIGGER="available-now")
    assert result.returncode == 0 and "usage:" in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("pipeline", "run", "--trigger", "5 bananas"), "argument --trigger: '5 bananas' is not"),
        (("broker", "status", "--port", "70000"), "argument --port: '70000' must be from 1 to"),
        (("broker", "status", "--port", "http"), "argument --port: 'http' is not a port number"),
        (("run", "--rate", "0"), "argument --rate: '0' must be a number above 0"),
        (("run", "--duration", "soon"), "argument --duration: not a duration: 'soon'"),
        (("gold", "--limit", "-3"), "argument --limit: '-3' must be 1 or more"),
        (("sql", "gold_revenue", "--limit", "0"), "argument --limit: '0' must be 1 or more"),
        (
            ("pipeline", "run", "--max-offsets-per-trigger", "0"),
            "argument --max-offsets-per-trigger: '0' must be 1 or more",
        ),
    ],
)
def test_a_bad_argument_is_one_line(args, says):
    assert says in refusal(run(LABSUPPORT, *args))


@pytest.mark.parametrize(
    ("args", "what"),
    [(("gold",), "gold"), (("where", "some-order"), "where"), (("sql", "bronze_check"), "sql")],
)
def test_reading_tables_before_the_first_run_says_which_command_creates_them(tmp_path, args, what):
    empty = tmp_path / "delta"
    line = refusal(run(LABSUPPORT, *args, "--delta-root", str(empty)))
    assert line == (
        f"error: No Bronze table at {Path(empty) / 'bronze/order_events'} yet: run the pipeline "
        "first (`make run`, or `python -m labsupport pipeline run`)."
    ), what


def test_kafka_names_are_read_in_any_case_as_kafka_does():
    probe = (
        "from labsupport.config import KafkaSettings; s = KafkaSettings.from_env(); "
        "print(s.security_protocol, s.sasl_mechanism)"
    )
    result = run((sys.executable, "-c", probe), KAFKA_SECURITY_PROTOCOL="sasl_ssl",
                 KAFKA_SASL_MECHANISM="scram-sha-512", KAFKA_SASL_USERNAME="u")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["SASL_SSL", "SCRAM-SHA-512"]


@pytest.mark.parametrize(("value", "reason"), [("0.0005", "0 seconds"), ("90s", "90 seconds")])
def test_the_future_tolerance_is_whole_milliseconds(value, reason):
    probe = "from labsupport.contract import FUTURE_REASON; print(FUTURE_REASON)"
    result = run((sys.executable, "-c", probe), LAB_FUTURE_TOLERANCE=value)
    assert result.returncode == 0, result.stderr
    assert f"more than {reason} after the broker received it" in result.stdout


def test_a_bad_future_tolerance_is_one_line():
    line = refusal(run(LABSUPPORT, "broker", "status", LAB_FUTURE_TOLERANCE="soon"))
    assert line.startswith("error: LAB_FUTURE_TOLERANCE='soon' is not a duration")


def test_a_home_relative_path_means_home():
    probe = "from labsupport.config import DELTA_ROOT; print(DELTA_ROOT)"
    result = run((sys.executable, "-c", probe), LAB_DELTA_ROOT="~/lab-tables")
    assert result.stdout.strip() == str(Path.home() / "lab-tables")


def test_make_run_refuses_a_new_checkpoint_over_full_tables_before_producing(tmp_path):
    log = tmp_path / "delta" / "bronze" / "order_events" / "_delta_log"
    log.mkdir(parents=True)
    for version in (0, 1):  # the empty table create_tables writes, then one batch
        (log / f"{version:020d}.json").write_text("{}\n")
    result = run(
        LABSUPPORT, "run", "--delta-root", str(tmp_path / "delta"),
        "--checkpoint-root", str(tmp_path / "checkpoints"), "--bootstrap-servers", "127.0.0.1:1",
    )  # fmt: skip
    assert "holds data but its checkpoint" in refusal(result)
    assert "Producer started" not in result.stdout
