"""Checks of lesson 00, setup check and tour: the broker, the Spark session, one Delta table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    CheckResult,
    check_dataframe,
    check_equal,
    function_problem,
    is_unanswered,
)
from labsupport.topics import admin_client

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from labsupport.config import KafkaSettings

__all__ = ["check_delta_roundtrip", "check_spark_setting", "check_topic_partitions"]


def _partitions(settings: KafkaSettings, topic: str) -> int | None:
    """The number of partitions of ``topic``, from the broker (None when it has no such topic)."""
    described = admin_client(settings).list_topics(topic=topic, timeout=10).topics.get(topic)
    if described is None or described.error is not None:
        return None
    return len(described.partitions)


def check_topic_partitions(answer: Any, settings: KafkaSettings, topic: str) -> CheckResult:
    """Exercise 00.1: ``answer`` is a function ``partitions_of(topic)`` that asks the broker how
    many partitions a topic has.

    It runs on ``topic`` and on a topic the check creates with another number of partitions
    (and deletes after), so the number written in the lesson's text does not fit both.
    """
    from labsupport.topics import delete_topic, ensure_topic

    hint = (
        "AdminClient(lesson.kafka.client_config()).list_topics(topic=topic, timeout=10) "
        "returns cluster metadata; .topics[topic].partitions is a dict with one entry per "
        "partition."
    )
    problem = function_problem(answer, "def partitions_of(topic)", hint)
    if problem is not None:
        return problem
    if _partitions(settings, topic) is None:
        return CheckResult.not_ready(
            f"the broker does not know topic {topic}",
            "run the cell with lesson.ensure_broker() first: it creates the lesson's topic",
        )
    other = f"{topic}-two-partitions"
    ensure_topic(settings, other, partitions=2)
    try:
        for name in (topic, other):
            try:
                got = answer(name)
            except Exception as error:
                return CheckResult.fail(
                    f"your function failed on {name}: {type(error).__name__}: {error}", hint
                )
            verdict = check_equal(got, _partitions(settings, name), f"partitions of {name}", hint)
            if not verdict:
                return verdict
    finally:
        delete_topic(settings, other)
    return CheckResult.ok(f"right for {topic} and for {other}: asked of the broker, not assumed")


def check_spark_setting(answer: Any, spark: SparkSession, key: str) -> CheckResult:
    """Exercise 00.2: ``answer`` is the value of the Spark setting ``key`` in the running session."""
    hint = f'spark.conf.get("{key}") reads a setting of the running session'
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    expected = spark.conf.get(key, None)
    if expected is None:
        return CheckResult.fail(f"{key} is not set in this Spark session", hint)
    return check_equal(answer, expected, key, hint)


def check_delta_roundtrip(df: Any, path: str, spark: SparkSession, rows: int = 3) -> CheckResult:
    """Exercise 00.3: a ``rows``-row Delta table was written at ``path`` and ``df`` read it back.

    Three things must hold: ``path`` is a Delta table (it has a ``_delta_log``), the table holds
    ``rows`` rows, and ``df`` — the learner's read — has the same rows as the table.
    """
    hint = (
        f'spark.createDataFrame(...) with {rows} rows, then .write.format("delta")'
        '.mode("overwrite").save(path); read it back with spark.read.format("delta").load(path)'
    )
    if is_unanswered(df):
        return CheckResult.not_answered(hint)
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return CheckResult.fail(f"no Delta table at {path} (no _delta_log folder there)", hint)
    table = spark.read.format("delta").load(path)
    count = table.count()
    if count != rows:
        return CheckResult.fail(f"the Delta table at {path} has {count} rows, not {rows}", hint)
    same = check_dataframe(df, table, what="the DataFrame you read back", hint=hint)
    if not same:
        return same
    return CheckResult.ok(f"a {rows}-row Delta table at {path}, read back intact")
