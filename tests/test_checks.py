"""The exercise checks: each rejects a wrong answer (and the `...` placeholder) and accepts the solution.

The lesson checks run against the real broker and the real Spark session, as in the notebooks.
Lesson authors add a test here for each check they add to ``labsupport/checks.py``.
"""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from labsupport.checks import (
    NOT_ANSWERED,
    CheckResult,
    check_columns,
    check_dataframe,
    check_delta_roundtrip,
    check_equal,
    check_spark_setting,
    check_topic_partitions,
    check_true,
)


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
    metadata = AdminClient(kafka.client_config()).list_topics(topic=topic, timeout=10)
    solution = len(metadata.topics[topic].partitions)
    assert check_topic_partitions(solution, kafka, topic)
    wrong = check_topic_partitions(1, kafka, topic)
    assert not wrong and "expected 3, got 1" in wrong.message and "list_topics" in wrong.hint
    assert not check_topic_partitions("3", kafka, topic)
    assert check_topic_partitions(..., kafka, topic).message == NOT_ANSWERED


@pytest.mark.kafka
def test_check_topic_partitions_names_a_missing_topic(kafka):
    result = check_topic_partitions(3, kafka, "lesson-never-created")
    assert not result and "does not know topic" in result.message
    assert "ensure_broker" in result.hint


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
