"""Checks of lesson 00, setup check and tour: the broker, the Spark session, one Delta table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.checks.core import CheckResult, check_dataframe, check_equal, is_unanswered
from labsupport.topics import admin_client

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from labsupport.config import KafkaSettings

__all__ = ["check_delta_roundtrip", "check_spark_setting", "check_topic_partitions"]


def check_topic_partitions(answer: Any, settings: KafkaSettings, topic: str) -> CheckResult:
    """Exercise 00.1: ``answer`` is the number of partitions of ``topic``, asked of the broker.

    The expected value comes from the real broker (an AdminClient's metadata), not from a
    constant, so the check holds for any topic.
    """
    hint = (
        "AdminClient(lesson.kafka.client_config()).list_topics(topic=lesson.topic, timeout=10) "
        "returns cluster metadata; .topics[lesson.topic].partitions is a dict with one entry "
        "per partition."
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    metadata = admin_client(settings).list_topics(topic=topic, timeout=10)
    described = metadata.topics.get(topic)
    if described is None or described.error is not None:
        return CheckResult.fail(
            f"the broker does not know topic {topic}",
            "run the cell with lesson.ensure_broker() first: it creates the lesson's topic",
        )
    return check_equal(answer, len(described.partitions), f"partitions of {topic}", hint)


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
