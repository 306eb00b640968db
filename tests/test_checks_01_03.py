"""The checks of lessons 01–03: each rejects wrong answers and accepts the reference solution.

Real Kafka, Spark and Delta where a check reads them: records are produced to a fresh topic and
read back by the check, scenario records go through Kafka and the lesson functions, and the
Delta tables are written by Spark.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from confluent_kafka import Producer
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from labsupport.checks.core import NOT_ANSWERED
from labsupport.checks.lesson01 import check_key_partition, check_region_share
from labsupport.checks.lesson02 import (
    check_future_events,
    check_multi_reason_count,
    check_reasons_for,
)
from labsupport.checks.lesson03 import (
    check_bronze_region_rows,
    check_bronze_stream,
    check_version_most_rows,
)
from labsupport.pipeline import (
    bronze_rows,
    decode_records,
    parse_events,
    valid_events,
    validate_events,
    validate_records,
)
from labsupport.runner import read_topic_now
from labsupport.schema import EVENT_SCHEMA
from producer import OrderFeed, encode_event, produce_events, replay_scenario


# --- Lesson 01 ----------------------------------------------------------------------------------------
@pytest.mark.kafka
def test_check_key_partition(kafka, topic):
    """Every record of a key lands in one partition; the delivery reports say which."""
    delivered: dict[str, set[int]] = {}

    def on_delivery(error, message):
        assert error is None, error
        delivered.setdefault(message.key().decode(), set()).add(message.partition())

    producer = Producer(kafka.client_config())
    for i in range(40):
        producer.produce(topic, key=f"order-{i % 8}", value=b"{}", on_delivery=on_delivery)
    assert producer.flush(15) == 0
    (partition,) = delivered["order-3"]

    accepted = check_key_partition(partition, kafka, topic, "order-3")
    assert accepted and "all 5 records" in accepted.message, accepted.message
    assert check_key_partition(np.int64(partition), kafka, topic, "order-3"), "pandas' ints count"

    wrong = check_key_partition((partition + 1) % 3, kafka, topic, "order-3")
    assert not wrong and f"expected {partition}" in wrong.message and "order_id" in wrong.hint
    assert not check_key_partition(str(partition), kafka, topic, "order-3")
    assert not check_key_partition(True, kafka, topic, "order-3")
    assert check_key_partition(..., kafka, topic, "order-3").message == NOT_ANSWERED
    assert "no record" in check_key_partition(0, kafka, topic, "no-such-order").message
    missing_topic = check_key_partition(0, kafka, f"{topic}-missing", "order-3")
    assert not missing_topic and "does not know topic" in missing_topic.message


def test_check_region_share():
    events = pd.DataFrame(
        {"region": ["us-east"] * 7 + ["eu-west"] * 9 + ["us-west"] * 4}  # 7 of 20: 0.35
    )
    solution = (events["region"] == "us-east").mean()
    accepted = check_region_share(solution, events, "us-east")
    assert accepted and "7 of 20" in accepted.message
    assert check_region_share(0.3504, events, "us-east"), "within 0.001"
    assert check_region_share(7 / 20, events.to_dict("records"), "us-east"), "a list of events"

    percent = check_region_share(35.0, events, "us-east")
    assert not percent and "percentage" in percent.message
    count = check_region_share(7, events, "us-east")
    assert not count and "number of us-east events" in count.message
    assert check_region_share(0.45, events, "eu-west"), "any region: 9 of 20"
    assert not check_region_share(0.35, events, "eu-west"), "the us-east share, not eu-west's"
    design = check_region_share(0.2, events, "eu-west")  # the design's weight, not the sample's
    assert not design and "design's weight" in design.message
    assert not check_region_share("0.35", events, "us-east")
    assert check_region_share(..., events, "us-east").message == NOT_ANSWERED
    assert not check_region_share(0.0, pd.DataFrame({"region": []}), "us-east")


# --- Lesson 02 ----------------------------------------------------------------------------------------
@pytest.fixture
def malformed_validated(spark, kafka, topic):
    """The `malformed` scenario through Kafka and decode_records → parse_events → validate_events."""
    replay_scenario(kafka, topic, "malformed")
    return validate_events(parse_events(decode_records(read_topic_now(spark, kafka, topic))))


@pytest.mark.kafka
@pytest.mark.spark
def test_check_multi_reason_count(malformed_validated):
    solution = malformed_validated.where(F.size("reasons") > 1).count()
    assert solution == 1, "the negative quantity also makes the total negative"
    accepted = check_multi_reason_count(solution, malformed_validated)
    assert accepted and "1 of the 9 invalid records" in accepted.message

    every_invalid = check_multi_reason_count(9, malformed_validated)
    assert not every_invalid and "every invalid record" in every_invalid.message
    assert "F.size" in every_invalid.hint
    assert not check_multi_reason_count(12, malformed_validated)
    assert not check_multi_reason_count("1", malformed_validated)
    assert check_multi_reason_count(..., malformed_validated).message == NOT_ANSWERED


@pytest.mark.spark
def test_check_reasons_for(spark):
    example = OrderFeed(seed=2).next_event()
    zero_quantity = encode_event({**example, "quantity": 0, "total_price": 0.0})
    accepted = check_reasons_for(["quantity must be at least 1"], spark, zero_quantity)
    assert accepted and "quantity must be at least 1" in accepted.message

    assert not check_reasons_for([], spark, zero_quantity)
    assert not check_reasons_for("quantity must be at least 1", spark, zero_quantity)
    extra = check_reasons_for(
        ["quantity must be at least 1", "total_price is not unit_price × quantity"],
        spark,
        zero_quantity,
    )
    assert not extra and "not a reason the pipeline gives" in extra.message
    assert not check_reasons_for(3, spark, zero_quantity)
    assert check_reasons_for(..., spark, zero_quantity).message == NOT_ANSWERED

    negative = encode_event({**example, "quantity": -2, "total_price": -2 * example["unit_price"]})
    both = ["total_price must not be negative", "quantity must be at least 1"]  # any order
    assert check_reasons_for(both, spark, negative)
    missing = check_reasons_for(both[:1], spark, negative)
    assert not missing and "missing ['quantity must be at least 1']" in missing.message
    assert check_reasons_for([], spark, encode_event(example)), "a valid event has no reasons"


TOLERANCE = timedelta(minutes=5)


def _stamped(decoded):
    return decoded.select(
        "kafka_offset", "kafka_ingest_ts", F.from_json("value_text", EVENT_SCHEMA).alias("event")
    )


def future_reference(decoded):
    """The reference answer of exercise 02.3 (as in the solutions file)."""
    parsed = _stamped(decoded)
    return parsed.where(
        F.col("event.event_timestamp") > F.col("kafka_ingest_ts") + F.lit(TOLERANCE)
    ).select("kafka_offset", "event.event_timestamp", "kafka_ingest_ts")


def future_by_todays_clock(decoded):
    return (
        _stamped(decoded)
        .where(F.col("event.event_timestamp") > F.current_timestamp() + F.lit(TOLERANCE))
        .select("kafka_offset", "event.event_timestamp", "kafka_ingest_ts")
    )


def future_at_or_after(decoded):
    return (
        _stamped(decoded)
        .where(F.col("event.event_timestamp") >= F.col("kafka_ingest_ts") + F.lit(TOLERANCE))
        .select("kafka_offset", "event.event_timestamp", "kafka_ingest_ts")
    )


def future_or_past(decoded):
    gap = F.abs(F.unix_timestamp("event.event_timestamp") - F.unix_timestamp("kafka_ingest_ts"))
    return (
        _stamped(decoded)
        .where(gap > TOLERANCE.total_seconds())
        .select("kafka_offset", "event.event_timestamp", "kafka_ingest_ts")
    )


def future_as_text(decoded):
    return future_reference(decoded).withColumn(
        "event_timestamp", F.col("event_timestamp").cast("string")
    )


@pytest.mark.spark
def test_check_future_events(spark):
    accepted = check_future_events(future_reference, spark, TOLERANCE)
    assert accepted, accepted.message
    assert "more than 0:05:00 ahead" in accepted.message

    by_clock = check_future_events(future_by_todays_clock, spark, TOLERANCE)
    assert not by_clock and "not with today's clock" in by_clock.message
    at_or_after = check_future_events(future_at_or_after, spark, TOLERANCE)
    assert not at_or_after and "means >, not >=" in at_or_after.message
    both_ways = check_future_events(future_or_past, spark, TOLERANCE)
    assert not both_ways and "different rows" in both_ways.message
    as_text = check_future_events(future_as_text, spark, TOLERANCE)
    assert not as_text and "different schema" in as_text.message

    no_column = check_future_events(
        lambda decoded: decoded.select("kafka_offset"), spark, TOLERANCE
    )
    assert not no_column and "no column event_timestamp, kafka_ingest_ts" in no_column.message
    failing = check_future_events(lambda decoded: decoded.select("nope"), spark, TOLERANCE)
    assert not failing and failing.message.startswith("the function failed:")
    assert "\n" not in failing.message, "a failure is one line"
    assert not check_future_events(lambda decoded: 3, spark, TOLERANCE)
    assert not check_future_events("F.from_json", spark, TOLERANCE)
    assert check_future_events(..., spark, TOLERANCE).message == NOT_ANSWERED


# --- Lesson 03 ----------------------------------------------------------------------------------------
@pytest.mark.spark
def test_check_bronze_region_rows(spark, tmp_path):
    path = str(tmp_path / "bronze")
    regions = ["eu-west"] * 4 + ["us-east"] * 6 + ["ap-southeast"] * 2
    spark.createDataFrame(
        [(r, i) for i, r in enumerate(regions)], "region string, n int"
    ).write.format("delta").save(path)
    solution = spark.read.format("delta").load(path).where(F.col("region") == "eu-west").count()
    accepted = check_bronze_region_rows(solution, spark, path, "eu-west")
    assert accepted and "4 eu-west rows of 12" in accepted.message

    every_row = check_bronze_region_rows(12, spark, path, "eu-west")
    assert not every_row and "every row of Bronze" in every_row.message
    wrong = check_bronze_region_rows(6, spark, path, "eu-west")
    assert not wrong and "expected 4, got 6" in wrong.message and "eu-west" in wrong.hint
    assert not check_bronze_region_rows(4.0, spark, path, "eu-west")
    assert check_bronze_region_rows(..., spark, path, "eu-west").message == NOT_ANSWERED


def _busiest_version(spark):
    """The reference solution of exercise 03.2, as in notebooks/solutions."""

    def busiest_version(table_path):
        history = DeltaTable.forPath(spark, table_path).history()
        rows_per_version = history.select(
            "version", F.col("operationMetrics")["numOutputRows"].cast("long").alias("rows")
        ).where(F.col("rows").isNotNull())
        return rows_per_version.orderBy(F.desc("rows"), "version").first()["version"]

    return busiest_version


@pytest.mark.spark
def test_check_version_most_rows(spark, tmp_path):
    path = str(tmp_path / "table")
    DeltaTable.create(spark).location(path).addColumn("n", "INT").execute()  # version 0: no rows
    scratch = tmp_path / "scratch"
    empty = check_version_most_rows(_busiest_version(spark), spark, path, scratch)
    assert not empty and "no version" in empty.message
    for rows in (5, 20, 7):  # versions 1, 2, 3
        spark.range(rows).selectExpr("CAST(id AS INT) AS n").write.format("delta").mode(
            "append"
        ).save(path)

    accepted = check_version_most_rows(_busiest_version(spark), spark, path, scratch)
    assert accepted and "version 2 added 20 rows" in accepted.message, accepted.message

    copied = check_version_most_rows(lambda table: 2, spark, path, scratch)  # right for one table
    assert (
        not copied and "check's own: version 2 added 7 rows; version 1 added 20" in copied.message
    )
    row_count = check_version_most_rows(lambda table: 20, spark, path, scratch)
    assert not row_count and "number of rows" in row_count.message
    assert not check_version_most_rows(lambda table: "2", spark, path, scratch)
    assert "the function itself" in check_version_most_rows(2, spark, path, scratch).message
    assert check_version_most_rows(..., spark, path, scratch).message == NOT_ANSWERED


def _bronze_stream(spark, kafka, topic, root, name, *, starting="earliest", partition=True,
                   trigger=None, shape=None):  # fmt: skip
    """The reference solution of exercise 03.3 (as in notebooks/solutions), with knobs to break it."""
    records = (
        spark.readStream.format("kafka")
        .options(**kafka.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", starting)
        .load()
    )
    rows = (shape or (lambda r: bronze_rows(valid_events(validate_records(r)))))(records)
    writer = rows.writeStream.format("delta").outputMode("append")
    if partition:
        writer = writer.partitionBy("event_date")
    return (
        writer.option("checkpointLocation", str(root / name / "checkpoint"))
        .trigger(**(trigger or {"availableNow": True}))
        .start(str(root / name / "table"))
    )


@pytest.mark.kafka
@pytest.mark.spark
def test_check_bronze_stream(spark, kafka, topic, tmp_path):
    replay_scenario(kafka, topic, "malformed")  # valid events between broken records
    produce_events(kafka, topic, rate=5_000, count=30, seed=5, progress=False)

    def check(name, **knobs):
        query = _bronze_stream(spark, kafka, topic, tmp_path, name, **knobs)
        table, checkpoint = str(tmp_path / name / "table"), str(tmp_path / name / "checkpoint")
        return check_bronze_stream(query, spark, kafka, topic, table, checkpoint, timeout=60)

    accepted = check("reference")
    assert accepted and "partitioned by event_date" in accepted.message, accepted.message

    unpartitioned = check("flat", partition=False)
    assert not unpartitioned and "partitioned by nothing" in unpartitioned.message
    late_start = check("latest", starting="latest")
    assert not late_start and "found nothing to read" in late_start.message
    unvalidated = check(
        "raw",
        shape=lambda r: r.select(
            F.col("value").cast("string").alias("value"), F.current_date().alias("event_date")
        ),
    )
    assert not unvalidated and "different schema" in unvalidated.message
    query = _bronze_stream(
        spark, kafka, topic, tmp_path, "forever", trigger={"processingTime": "1 second"}
    )
    running = check_bronze_stream(
        query, spark, kafka, topic, str(tmp_path / "forever" / "table"),
        str(tmp_path / "forever" / "checkpoint"), timeout=5,
    )  # fmt: skip
    assert not running and "still running" in running.message and not query.isActive
    elsewhere = check_bronze_stream(
        _bronze_stream(spark, kafka, topic, tmp_path, "cp"), spark, kafka, topic,
        str(tmp_path / "cp" / "table"), str(tmp_path / "not-its-checkpoint"), timeout=60,
    )  # fmt: skip
    assert not elsewhere and "give that path as the checkpointLocation" in elsewhere.message
    assert not check_bronze_stream("query", spark, kafka, topic, "t", "c")
    assert check_bronze_stream(..., spark, kafka, topic, "t", "c").message == NOT_ANSWERED
