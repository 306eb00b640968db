"""The checks of the streams learners write in lessons 03, 06 and 07: a stream–static join, a
stop and a restart, the exactly-once proof, and a stream from Bronze.

Real Kafka, Spark and Delta: the reference solutions (as in ``notebooks/solutions``, with knobs
to break them) copy a fresh topic to Delta, and the checks read the broker's offsets.
"""

from __future__ import annotations

import time

import pytest
from pyspark.sql import functions as F

from labsupport.checks.core import NOT_ANSWERED
from labsupport.checks.lesson03 import check_catalogue_join
from labsupport.checks.lesson06 import check_not_exactly_once, check_restart
from labsupport.checks.lesson07 import check_silver_stream
from labsupport.config import CATALOGUE_FILE, LabPaths
from labsupport.runner import run_available_now
from labsupport.schema import CATALOGUE_SCHEMA, EVENT_FIELDS
from producer import produce_events, replay_scenario
from tests.conftest import fresh_topic

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.spark,
    pytest.mark.xdist_group("checks_written_streams"),
]


def _start_copy(spark, kafka, topic, table, checkpoint, **trigger):
    """``start_copy`` of the reference solution of exercise 06.3."""
    return (
        spark.readStream.format("kafka")
        .options(**kafka.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", 40)
        .load()
        .select("partition", "offset", "value")
        .writeStream.format("delta")
        .option("checkpointLocation", checkpoint)
        .trigger(**trigger)
        .start(table)
    )


def _restart(spark, kafka, topic, table, checkpoint, *, second_checkpoint=None, read_all=False):
    """The solution's two runs; ``second_checkpoint`` and ``read_all`` break it."""
    first = _start_copy(spark, kafka, topic, table, checkpoint, processingTime="1 second")
    try:
        if read_all:
            first.processAllAvailable()
        deadline = time.monotonic() + 60
        while len(first.recentProgress) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        first.stop()
    second = _start_copy(
        spark, kafka, topic, table, second_checkpoint or checkpoint, availableNow=True
    )
    return first, second


@pytest.fixture(scope="module")
def copied(spark, kafka, tmp_path_factory):
    """200 records on a fresh topic, copied by the solution of 06.3: (topic, table, checkpoint, runs)."""
    with fresh_topic(kafka, "test-restart") as topic:
        produce_events(kafka, topic, rate=5_000, count=200, seed=63, progress=False)
        root = tmp_path_factory.mktemp("restart")
        table, checkpoint = str(root / "copy"), str(root / "checkpoint")
        runs = _restart(spark, kafka, topic, table, checkpoint)
        yield topic, table, checkpoint, runs


def test_check_restart_accepts_the_solution(spark, kafka, copied):
    topic, table, checkpoint, runs = copied
    verdict = check_restart(runs, spark, kafka, topic, table, checkpoint)
    assert verdict, verdict.message
    assert check_restart(..., spark, kafka, topic, table, checkpoint).message == NOT_ANSWERED
    assert (
        "two started queries"
        in check_restart(runs[0], spark, kafka, topic, table, checkpoint).message
    )


def test_check_restart_rejects_a_restart_from_another_checkpoint(spark, kafka, copied, tmp_path):
    topic, *_ = copied
    table, checkpoint = str(tmp_path / "copy"), str(tmp_path / "checkpoint")
    runs = _restart(
        spark, kafka, topic, table, checkpoint, second_checkpoint=str(tmp_path / "another")
    )
    verdict = check_restart(runs, spark, kafka, topic, table, checkpoint)
    assert not verdict and "different queries" in verdict.message, verdict.message


def test_check_restart_rejects_a_first_run_that_read_everything(spark, kafka, copied, tmp_path):
    topic, *_ = copied
    table, checkpoint = str(tmp_path / "copy"), str(tmp_path / "checkpoint")
    runs = _restart(spark, kafka, topic, table, checkpoint, read_all=True)
    verdict = check_restart(runs, spark, kafka, topic, table, checkpoint)
    assert not verdict and "read all 200 records" in verdict.message, verdict.message


def _not_exactly_once(spark, *, join: str = "full_outer"):
    """The reference solution of exercise 06.4; an inner join misses what is missing."""

    def not_exactly_once(copy, end_offsets):
        every_record = spark.createDataFrame(
            [(p, o) for p, end in end_offsets.items() for o in range(end)],
            "partition int, offset long",
        )
        held = copy.groupBy("partition", "offset").agg(F.count("*").alias("copies"))
        return (
            every_record.join(held, ["partition", "offset"], join)
            .select("partition", "offset", F.coalesce("copies", F.lit(0)).alias("copies"))
            .where(F.col("copies") != 1)
        )

    return not_exactly_once


def test_check_not_exactly_once(spark, kafka, copied):
    topic, table, _, _ = copied
    verdict = check_not_exactly_once(_not_exactly_once(spark), spark, kafka, topic, table)
    assert verdict, verdict.message
    inner = check_not_exactly_once(
        _not_exactly_once(spark, join="inner"), spark, kafka, topic, table
    )
    assert not inner and "a copy missing a record" in inner.message, inner.message

    def only_duplicates(copy, end_offsets):
        return (
            copy.groupBy("partition", "offset")
            .agg(F.count("*").alias("copies"))
            .where("copies > 1")
        )

    duplicates = check_not_exactly_once(only_duplicates, spark, kafka, topic, table)
    assert not duplicates and "missing a record" in duplicates.message, duplicates.message
    assert check_not_exactly_once(..., spark, kafka, topic, table).message == NOT_ANSWERED


# --- 07.4: Silver, streamed from Bronze --------------------------------------------------------------
def _silver(spark, bronze, table, checkpoint, *, dedupe: str = "within_watermark"):
    """The reference solution of exercise 07.4; ``dedupe`` "plain" or "none" breaks it."""
    placed = (
        spark.readStream.format("delta").load(bronze).filter(F.col("event_type") == "ORDER_PLACED")
    )
    if dedupe == "within_watermark":
        placed = placed.withWatermark(
            "event_timestamp", "10 minutes"
        ).dropDuplicatesWithinWatermark(["order_id"])
    elif dedupe == "plain":
        placed = placed.dropDuplicates(["order_id"])
    return (
        placed.select(*EVENT_FIELDS)
        .writeStream.format("delta")
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start(table)
    )


@pytest.mark.parametrize(
    ("dedupe", "says"),
    [
        ("within_watermark", None),
        ("plain", "use dropDuplicatesWithinWatermark"),
        ("none", "more than once"),
    ],
)
def test_check_silver_stream(spark, kafka, tmp_path, dedupe, says):
    with fresh_topic(kafka, "test-silver") as topic:
        paths = LabPaths.under(tmp_path / "lab")
        replay_scenario(kafka, topic, "duplicates")
        run_available_now(spark, kafka, topic, paths, queries=("bronze",))
    table, checkpoint = str(tmp_path / "silver"), str(tmp_path / "checkpoint")
    query = _silver(spark, paths.bronze, table, checkpoint, dedupe=dedupe)
    verdict = check_silver_stream(query, spark, paths.bronze, table, checkpoint)
    if says is None:
        assert verdict, verdict.message
    else:
        assert not verdict and says in verdict.message, verdict.message


# --- 03.4: a stream–static join ----------------------------------------------------------------------
def _priced(spark, bronze, table, checkpoint, *, placed_only=True, schema=CATALOGUE_SCHEMA):
    """The reference solution of exercise 03.4; ``placed_only`` and ``schema`` break it."""
    catalogue = spark.read.csv(str(CATALOGUE_FILE), header=True, schema=schema)
    orders = spark.readStream.format("delta").load(bronze)
    if placed_only:
        orders = orders.filter(F.col("event_type") == "ORDER_PLACED")
    return (
        orders.join(catalogue.select("product_id", "base_price"), "product_id", "left")
        .select("order_id", "product_id", "quantity", "unit_price", "base_price")
        .writeStream.format("delta")
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start(table)
    )


@pytest.mark.parametrize(
    ("knobs", "says"),
    [
        ({}, None),
        ({"placed_only": False}, "different rows"),
        ({"schema": None}, "different schema"),  # no schema: every column a string
    ],
)
def test_check_catalogue_join(spark, kafka, tmp_path, knobs, says):
    with fresh_topic(kafka, "test-priced") as topic:
        paths = LabPaths.under(tmp_path / "lab")
        replay_scenario(kafka, topic, "on_time")  # a cancellation and an update among orders
        run_available_now(spark, kafka, topic, paths, queries=("bronze",))
    table, checkpoint = str(tmp_path / "priced"), str(tmp_path / "checkpoint")
    query = _priced(spark, paths.bronze, table, checkpoint, **knobs)
    verdict = check_catalogue_join(
        query, spark, paths.bronze, str(CATALOGUE_FILE), table, checkpoint
    )
    if says is None:
        assert verdict, verdict.message
    else:
        assert not verdict and says in verdict.message, verdict.message
