"""Checks of lesson 07, querying and operating: Delta time travel, a query's lag behind Kafka."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    NUMBER,
    CheckResult,
    as_number,
    as_offsets,
    is_unanswered,
    within_a_cent,
    wrong_type,
)
from labsupport.errors import LabError
from labsupport.topics import consumer_lag, topic_offsets

if TYPE_CHECKING:
    from pyspark.sql import DataFrameReader, SparkSession

    from labsupport.config import KafkaSettings

__all__ = ["check_partition_lag", "check_revenue_as_of"]


def check_revenue_as_of(
    answer: Any, spark: SparkSession, table_path: str, version: int
) -> CheckResult:
    """Exercise 07.1: total revenue of the Gold table at ``version`` (time travel), within 0.01."""
    hint = (
        f'spark.read.format("delta").option("versionAsOf", {version}).load(path), then the '
        'sum of "total_revenue" (agg(F.sum(...)).first()[0])'
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    from pyspark.sql import functions as F

    def revenue_read_by(reader: DataFrameReader) -> float:
        total = reader.load(table_path).agg(F.sum("total_revenue")).first()[0]
        return float(total or 0.0)

    try:
        expected = revenue_read_by(spark.read.format("delta").option("versionAsOf", version))
    except Exception:
        return CheckResult.fail(
            f"{table_path} has no version {version} yet", "run the cells above first"
        )
    revenue = as_number(answer)
    if revenue is None:
        return wrong_type("the revenue", answer, hint, kind=NUMBER)
    if within_a_cent(revenue, expected):
        return CheckResult.ok(f"Gold's total revenue at version {version} was {expected:.2f}")
    if within_a_cent(revenue, revenue_read_by(spark.read.format("delta"))):
        return CheckResult.fail(
            f"{revenue:.2f} is the revenue of the current version; version {version} had "
            f"{expected:.2f}",
            hint,
        )
    return CheckResult.fail(
        f"total revenue at version {version}: expected {expected:.2f}, got {revenue:.2f}", hint
    )


def check_partition_lag(
    answer: Any, settings: KafkaSettings, topic: str, checkpoint: str
) -> CheckResult:
    """Exercise 07.2: ``{partition: lag}``, lag = the topic's end offset − the committed offset.

    The end offsets come from the broker (its watermarks), the committed offsets from the last
    committed batch of ``checkpoint``.
    """
    hint = (
        "end offsets: Consumer(...).get_watermark_offsets(TopicPartition(topic, p))[1] (or the "
        "largest offset per partition + 1); committed: the last offsets file with a commit; "
        "lag = end - committed, for every partition"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    try:
        watermarks = topic_offsets(settings, topic)
    except LabError:
        return CheckResult.fail(f"the broker does not know topic {topic}", "run the cells above")
    expected = consumer_lag(settings, topic, checkpoint)
    lag = as_offsets(answer)
    if lag is None:
        return CheckResult.fail(
            f"the answer is a dict {{partition: lag}}, got {type(answer).__name__}", hint
        )
    if lag == expected:
        return CheckResult.ok(
            f"lag per partition {expected}: {sum(expected.values())} records not in Bronze yet"
        )
    if lag == {p: end for p, (_, end) in watermarks.items()}:
        return CheckResult.fail(
            "those are the topic's end offsets; subtract the offsets the query has committed",
            hint,
        )
    return CheckResult.fail(f"lag per partition: expected {expected}, got {lag}", hint)
