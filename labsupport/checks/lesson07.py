"""Checks of lesson 07, querying and operating: Delta time travel, a query's lag behind Kafka,
and a streaming query the learner writes (the bare Kafka → Delta copy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    NUMBER,
    CheckResult,
    as_number,
    as_offsets,
    copy_problem,
    finished_query_problem,
    is_unanswered,
    load_table,
    source_problem,
    within_a_cent,
    wrong_type,
)
from labsupport.errors import LabError
from labsupport.schema import EVENT_FIELDS, ORDER_PLACED
from labsupport.topics import consumer_lag, topic_offsets

if TYPE_CHECKING:
    from pyspark.sql import DataFrameReader, SparkSession

    from labsupport.config import KafkaSettings

__all__ = [
    "check_bare_copy",
    "check_partition_lag",
    "check_revenue_as_of",
    "check_silver_stream",
]


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
        return CheckResult.not_ready(
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


_BARE_COLUMNS = ["key", "value", "partition", "offset", "timestamp"]


def check_bare_copy(
    answer: Any,
    spark: SparkSession,
    kafka: KafkaSettings,
    topic: str,
    table_path: str,
    checkpoint_path: str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 07.3: ``answer`` is a started query copying ``topic`` as Kafka gives it to Delta.

    It must run available-now (it stops by itself), keep its checkpoint at ``checkpoint_path``,
    and leave in ``table_path`` every record of the topic exactly once — checked against the
    broker's offsets, partition by partition — with Kafka's columns as they are.
    """
    hint = (
        'spark.readStream.format("kafka") with lesson.kafka.spark_options(), "subscribe" and '
        '"startingOffsets" "earliest"; .select(the five columns).writeStream.format("delta") '
        'with "checkpointLocation", .trigger(availableNow=True), .start(table path)'
    )
    problem = finished_query_problem(answer, checkpoint_path, hint, timeout)
    if problem is not None:
        return problem
    table = load_table(spark, table_path, hint)
    if isinstance(table, CheckResult):
        return table
    if table.columns != _BARE_COLUMNS:
        return CheckResult.fail(
            f"the table's columns are {table.columns}; expected {_BARE_COLUMNS}", hint
        )
    problem = copy_problem(table, topic_offsets(kafka, topic), hint)
    if problem is not None:
        return problem
    seconds = [p["durationMs"]["triggerExecution"] / 1000 for p in answer.recentProgress
               if p["numInputRows"] > 0]  # fmt: skip
    took = f"; its batches took {max(seconds):.2f} s at most" if seconds else ""
    return CheckResult.ok(f"every record of {topic} is in the table exactly once{took}")


# --- Exercise 07.4: a stream from a Delta table ---------------------------------------------------
def check_silver_stream(
    answer: Any,
    spark: SparkSession,
    bronze_path: str,
    table_path: str,
    checkpoint_path: str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 07.4: ``answer`` is a started query streaming Bronze into a Silver table of orders.

    It must read Bronze as a stream (a Delta source), keep ORDER_PLACED events, drop re-sent
    copies with ``dropDuplicatesWithinWatermark`` on ``order_id`` (plain ``dropDuplicates``
    keeps every id in its state forever), and write the event's fields; the reference is the
    same from Bronze read as a batch, compared row by row (chispa).
    """
    hint = (
        'spark.readStream.format("delta").load(paths.bronze), filter ORDER_PLACED, '
        '.withWatermark("event_timestamp", "10 minutes").dropDuplicatesWithinWatermark(["order_id"]), '
        '.select(*EVENT_FIELDS), .writeStream.format("delta") with the checkpointLocation, '
        "availableNow, .start(path)"
    )
    problem = finished_query_problem(answer, checkpoint_path, hint, timeout)
    if problem is not None:
        return problem
    problem = source_problem(answer, "DeltaSource", hint)
    if problem is not None:
        return problem
    progress = [p for p in answer.recentProgress if p["numInputRows"] > 0]
    operators = {op["operatorName"] for p in progress for op in p.get("stateOperators", [])}
    if "dedupe" in operators:
        return CheckResult.fail(
            "use dropDuplicatesWithinWatermark, as the exercise asks: dropDuplicates on "
            '["order_id"] keeps every id it has seen in its state, for ever; the watermarked '
            "variant forgets an id once the watermark passes its event time plus the delay",
            hint,
        )
    from pyspark.sql import functions as F

    from labsupport.checks.core import check_dataframe

    written = load_table(spark, table_path, hint)
    if isinstance(written, CheckResult):
        return written
    if "order_id" in written.columns:
        twice = written.count() - written.select("order_id").distinct().count()
        if twice:
            return CheckResult.fail(
                f"{twice} orders are in your table more than once: the re-sent copies", hint
            )
    bronze = spark.read.format("delta").load(bronze_path)
    expected = (
        bronze.filter(F.col("event_type") == ORDER_PLACED)
        .dropDuplicates(["order_id"])
        .select(*EVENT_FIELDS)
    )
    verdict = check_dataframe(written, expected, what="your Silver table", hint=hint)
    if not verdict:
        return verdict
    return CheckResult.ok(
        f"your stream from Bronze wrote its {written.count()} placed orders once each"
        + (", forgetting ids behind the watermark" if "dedupeWithinWatermark" in operators else "")
    )
