"""The check framework and lesson 00's checks: each rejects a wrong answer (and the `...`
placeholder) and accepts the solution; the answer helpers accept the same answers everywhere.

The lesson checks run against the real broker and the real Spark session, as in the notebooks.
Lesson authors add a test for each check they add to ``labsupport/checks/lessonNN.py``: here for
the framework and lesson 00, in ``tests/test_checks_01_03.py`` (and ``_04_05``, ``_06_07``) for
the others.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka.admin import AdminClient

from labsupport.checks.core import (
    NOT_ANSWERED,
    CheckResult,
    as_number,
    as_offsets,
    as_utc_naive,
    as_whole_number,
    check_columns,
    check_dataframe,
    check_equal,
    check_true,
    within_a_cent,
    wrong_type,
)
from labsupport.checks.lesson00 import (
    check_delta_roundtrip,
    check_spark_setting,
    check_topic_partitions,
)
from labsupport.checks.lesson06 import check_last_commit


# --- General building blocks (no Spark) -----------------------------------------------------------
def test_check_result_is_truthy_only_when_passed():
    assert CheckResult.ok("fine")
    assert not CheckResult.fail("wrong", "try again")


def test_check_true():
    assert check_true(2 > 1, "two is more than one")
    result = check_true(1 > 2, "one is more than two", hint="compare again")
    assert not result and result.message == "expected: one is more than two"
    assert result.hint == "compare again"


def test_check_equal_names_both_values_and_a_type_mismatch():
    assert check_equal(3, 3, "partitions")
    wrong = check_equal(1, 3, "partitions", hint="ask the broker")
    assert not wrong and "expected 3, got 1" in wrong.message and wrong.hint == "ask the broker"
    string = check_equal("3", 3, "partitions")
    assert not string and "(int)" in string.message and "(str)" in string.message


@pytest.mark.parametrize("check", [check_true, lambda v, *_: check_equal(v, 3, "x")])
def test_the_placeholder_is_not_answered_yet(check):
    result = check(..., "x")
    assert not result and result.message == NOT_ANSWERED


# --- Answer helpers: every lesson check accepts the same answers -----------------------------------
@pytest.mark.parametrize("answer", [2, np.int64(2), np.int32(2), np.uint8(2)])
def test_as_whole_number_accepts_python_and_numpy_ints(answer):
    assert as_whole_number(answer) == 2 and type(as_whole_number(answer)) is int


@pytest.mark.parametrize(
    "answer", [True, False, np.bool_(True), 2.0, np.float64(2), "2", None, ...]
)
def test_as_whole_number_rejects_bools_floats_and_text(answer):
    assert as_whole_number(answer) is None


@pytest.mark.parametrize("answer", [0.35, 7, np.float64(0.35), np.float32(0.5), np.int64(7)])
def test_as_number_accepts_python_and_numpy_numbers(answer):
    assert as_number(answer) == pytest.approx(float(answer))
    assert type(as_number(answer)) is float


@pytest.mark.parametrize("answer", [True, np.bool_(False), "0.35", None, [0.35]])
def test_as_number_rejects_bools_and_text(answer):
    assert as_number(answer) is None


def test_as_offsets_takes_digit_string_keys_and_numpy_values():
    assert as_offsets({"0": 12, "2": 7, 1: 9}) == {0: 12, 2: 7, 1: 9}
    as_numpy = as_offsets({np.int64(0): np.int64(12)})
    assert as_numpy == {0: 12} and all(type(x) is int for x in (*as_numpy, *as_numpy.values()))
    assert as_offsets({}) == {}
    assert as_offsets({0: 12, 1: True}) == {0: 12}, (
        "a bool is not an offset: that partition is missing"
    )


@pytest.mark.parametrize("answer", [[12, 9], "{0: 12}", 12, None, {"first": 12}, {0: "twelve"}])
def test_as_offsets_rejects_what_is_no_partition_offset_mapping(answer):
    assert as_offsets(answer) is None


def test_as_utc_naive_reads_spark_text_and_aware_datetimes():
    moment = datetime(2026, 1, 15, 9, 58, 15)
    assert as_utc_naive("2026-01-15T09:58:15.000Z") == moment
    assert as_utc_naive(" 2026-01-15T09:58:15Z ") == moment, "surrounding spaces are fine"
    assert as_utc_naive("2026-01-15T10:58:15+01:00") == moment
    assert as_utc_naive(moment) == moment
    assert as_utc_naive(moment.replace(tzinfo=timezone.utc)) == moment
    aware = datetime(2026, 1, 15, 11, 58, 15, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc_naive(aware) == moment and as_utc_naive(aware).tzinfo is None
    for other in ("yesterday", 42, None, ...):
        assert as_utc_naive(other) is None


def test_within_a_cent_is_how_money_compares():
    assert within_a_cent(469.47, 469.47) and within_a_cent(np.float64(3.754), 3.75)
    assert within_a_cent(3.76, 3.75) and not within_a_cent(3.7601, 3.75)


def test_wrong_type_names_the_expectation_and_what_came():
    result = wrong_type("a partition", "2", hint="an int")
    assert not result and result.hint == "an int"
    assert result.message == "a partition is a number (int), got '2' (str)"
    share = wrong_type("the share", None, "", kind="a number between 0 and 1")
    assert share.message == "the share is a number between 0 and 1, got None (NoneType)"


def _checkpoint(root: Path, committed: int, planned: int, offsets: dict[str, int]) -> str:
    """A checkpoint as Spark leaves it: offsets/0..planned, commits/0..committed."""
    (root / "offsets").mkdir(parents=True)
    (root / "commits").mkdir()
    for batch in range(planned + 1):
        source = json.dumps({"orders": offsets})
        (root / "offsets" / str(batch)).write_text(f'v1\n{{"batchWatermarkMs":0}}\n{source}')
    for batch in range(committed + 1):
        (root / "commits" / str(batch)).write_text('v1\n{"nextBatchWatermarkMs":0}')
    return str(root)


def test_check_last_commit_takes_numpy_ids_and_rejects_bools(tmp_path):
    """06.1 accepts the answers 02.1 does (numpy ints, digit-string keys), from checkpoint files."""
    checkpoint = _checkpoint(tmp_path / "cp", committed=1, planned=2, offsets={"0": 4, "1": 6})
    accepted = check_last_commit(np.int64(1), {"0": np.int64(4), "1": 6}, checkpoint)
    assert accepted and "10 records read" in accepted.message, accepted.message
    planned = check_last_commit(2, {0: 4, 1: 6}, checkpoint)
    assert not planned and "planned, not done" in planned.message
    as_bool = check_last_commit(True, {0: 4, 1: 6}, checkpoint)
    assert not as_bool and as_bool.message == "the last batch id is a number (int), got True (bool)"


# --- DataFrame building blocks -----------------------------------------------------------------
@pytest.mark.spark
def test_check_columns(spark):
    df = spark.createDataFrame([(1, "a")], "order_id int, region string")
    assert check_columns(df, ["region", "order_id"])
    assert not check_columns(df, ["region", "order_id"], ordered=True)
    wrong = check_columns(df, ["order_id", "total_price"])
    assert not wrong
    assert "missing total_price" in wrong.message and "unexpected region" in wrong.message
    assert check_columns(..., ["order_id"]).message == NOT_ANSWERED
    assert not check_columns([1, 2], ["order_id"])


@pytest.mark.spark
def test_check_dataframe_accepts_the_same_rows_in_any_order(spark):
    expected = spark.createDataFrame([(1, "a"), (2, "b")], "id long, name string")
    actual = spark.createDataFrame([(2, "b"), (1, "a")], "id long, name string")
    assert check_dataframe(actual, expected)


@pytest.mark.spark
def test_check_dataframe_rejects_other_rows_with_a_readable_diff(spark):
    expected = spark.createDataFrame([(1, "a"), (2, "b")], "id long, name string")
    actual = spark.createDataFrame([(1, "a"), (2, "WRONG")], "id long, name string")
    result = check_dataframe(actual, expected, what="the parsed events", hint="look at name")
    assert not result
    assert result.message.startswith("the parsed events has different rows")
    assert "WRONG" in result.message and "\x1b[" not in result.message, "no terminal colours"
    assert result.hint == "look at name"


@pytest.mark.spark
def test_check_dataframe_rejects_another_schema(spark):
    expected = spark.createDataFrame([(1, "a")], "id long, name string")
    actual = spark.createDataFrame([(1, "a")], "id int, name string")
    result = check_dataframe(actual, expected)
    assert not result and "different schema" in result.message and "\x1b[" not in result.message


@pytest.mark.spark
def test_check_dataframe_with_precision_allows_rounding(spark):
    expected = spark.createDataFrame([(1, 10.0)], "id long, revenue double")
    close = spark.createDataFrame([(1, 10.0000001)], "id long, revenue double")
    far = spark.createDataFrame([(1, 10.5)], "id long, revenue double")
    assert not check_dataframe(close, expected)
    assert check_dataframe(close, expected, precision=1e-3)
    assert not check_dataframe(far, expected, precision=1e-3)
    assert check_dataframe(..., expected).message == NOT_ANSWERED


# --- Lesson 00 ---------------------------------------------------------------------------------------
@pytest.mark.kafka
def test_check_topic_partitions(kafka, topic):
    admin = AdminClient(kafka.client_config())

    def partitions_of(name):  # the reference solution
        return len(admin.list_topics(topic=name, timeout=10).topics[name].partitions)

    assert check_topic_partitions(partitions_of, kafka, topic)
    copied = check_topic_partitions(lambda name: 3, kafka, topic)  # the number in the text
    assert not copied and "expected 2, got 3" in copied.message and "list_topics" in copied.hint
    assert not check_topic_partitions(lambda name: "3", kafka, topic)
    assert "the function itself" in check_topic_partitions(3, kafka, topic).message
    assert check_topic_partitions(..., kafka, topic).message == NOT_ANSWERED


@pytest.mark.kafka
def test_check_topic_partitions_names_a_missing_topic(kafka):
    result = check_topic_partitions(lambda name: 3, kafka, "lesson-never-created")
    assert not result and "does not know topic" in result.message
    assert "ensure_broker" in result.message and not result.hint


@pytest.mark.spark
def test_check_spark_setting(spark):
    solution = spark.conf.get("spark.sql.extensions")
    assert check_spark_setting(solution, spark, "spark.sql.extensions")
    assert not check_spark_setting("io.delta.sql.Wrong", spark, "spark.sql.extensions")
    assert not check_spark_setting("x", spark, "spark.lab.no.such.setting")
    assert check_spark_setting(..., spark, "spark.sql.extensions").message == NOT_ANSWERED


@pytest.mark.spark
def test_check_delta_roundtrip_accepts_the_solution(spark, tmp_path):
    path = str(tmp_path / "table")
    rows = spark.createDataFrame([(1, "a"), (2, "b"), (3, "c")], "id long, name string")
    rows.write.format("delta").mode("overwrite").save(path)
    table_back = spark.read.format("delta").load(path)
    result = check_delta_roundtrip(table_back, path, spark)
    assert result, result.message


@pytest.mark.spark
def test_check_delta_roundtrip_rejects_wrong_answers(spark, tmp_path):
    path = str(tmp_path / "table")
    assert check_delta_roundtrip(..., path, spark).message == NOT_ANSWERED

    no_table = check_delta_roundtrip(spark.range(3), path, spark)
    assert not no_table and "no Delta table" in no_table.message

    spark.range(2).write.format("delta").save(path)
    two_rows = check_delta_roundtrip(spark.read.format("delta").load(path), path, spark)
    assert not two_rows and "has 2 rows, not 3" in two_rows.message

    spark.range(3).write.format("delta").mode("overwrite").save(path)
    other_rows = check_delta_roundtrip(spark.range(10, 13), path, spark)
    assert not other_rows and "different rows" in other_rows.message

    not_a_dataframe = check_delta_roundtrip([1, 2, 3], path, spark)
    assert not not_a_dataframe and "expected a DataFrame" in not_a_dataframe.message
