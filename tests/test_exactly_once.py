"""Exactly once: kill the pipeline with SIGKILL while a batch is being written, restart it, and
prove nothing was lost or duplicated — from the tables themselves. Also: replaying a Gold
micro-batch changes nothing.

The killed batch has its ``offsets/N`` file but no ``commits/N``: the restart runs it again with
the same offsets, and Delta's sink skips whatever part of it was already committed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from labsupport.operate import batch_ids, pipeline_process
from labsupport.pipeline import gold_windows
from labsupport.runner import LabPaths, create_tables, run_available_now, upsert_gold
from tests.streaming import event, send

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.slow]

VALID = 600
DUPLICATES = 30  # re-sent copies of valid events (distinct Kafka records, same payload)
MALFORMED = 20
BATCH = 160  # records per micro-batch, so the stream takes several batches


def feed() -> tuple[list, int]:
    """Valid events 100 ms apart (5 minutes of event time, so none is ever late), duplicates
    and malformed records interleaved."""
    start = datetime(2026, 1, 15, 12, 0)
    records: list = []
    regions = ["us-east", "us-west", "eu-west", "eu-central", "ap-southeast"]
    for i in range(VALID):
        at = (start + timedelta(milliseconds=100 * i)).strftime("%H:%M:%S.%f")[:-3]
        order = event(
            f"o-{i}",
            at,
            region=regions[i % 5],
            customer=f"c-{i % 97}",
            quantity=1 + i % 4,
            unit_price=round(5 + (i % 13) * 1.37, 2),
        )
        records.append(order)
        if i % (VALID // DUPLICATES) == 0:
            records.append(records[-1])
        if i % (VALID // MALFORMED) == 1:
            records.append(b'{"order_id": "broken-%d", "quantity": ' % i)
    return records, len(records)


def test_sigkill_and_restart_lose_nothing_and_duplicate_nothing(spark, kafka, topic, tmp_path):
    paths = LabPaths.under(tmp_path)
    records, produced = feed()
    send(kafka, topic, records)

    # the pipeline as its own process group (its Spark JVM included), like a learner's terminal
    with pipeline_process(
        kafka, topic, paths, trigger="1 second", max_offsets_per_trigger=BATCH
    ) as crashing:
        crashing.wait_for_commits(2, timeout=240)
        in_flight = crashing.wait_for_batch_in_flight(timeout=60)
        crashing.kill()  # SIGKILL: no finally, no flush — a power cut in the middle of a batch
    assert in_flight is not None, "the kill happened while a Bronze batch was being written"
    assert len(batch_ids(paths.checkpoint("bronze"))) < produced / BATCH, "the kill was mid-stream"

    with pipeline_process(
        kafka, topic, paths, trigger="available-now", max_offsets_per_trigger=BATCH
    ) as finishing:
        assert finishing.process.wait(480) == 0, finishing.log_tail(40)

    bronze = spark.read.format("delta").load(paths.bronze)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    assert bronze.count() == VALID + DUPLICATES
    assert bronze.select("kafka_partition", "kafka_offset").distinct().count() == bronze.count(), (
        "no Kafka record may be in Bronze twice"
    )
    assert quarantine.count() == MALFORMED
    assert bronze.count() + quarantine.count() == produced, "records in = Bronze + quarantine"
    located = bronze.select("kafka_partition", "kafka_offset").union(
        quarantine.select("kafka_partition", "kafka_offset")
    )
    per_partition = located.groupBy("kafka_partition").agg(
        F.count("*").alias("n"), F.max("kafka_offset").alias("last")
    )
    for row in per_partition.collect():
        assert row.n == row.last + 1, f"partition {row.kafka_partition} has a gap or a repeat"

    gold = spark.read.format("delta").load(paths.gold)
    assert_df_equality(gold, gold_windows(bronze), ignore_row_order=True, ignore_nullable=True)
    assert gold.agg(F.sum("order_count")).first()[0] == VALID, "duplicates count once in Gold"


def test_replaying_a_gold_batch_leaves_gold_unchanged(spark, kafka, topic, tmp_path):
    paths = LabPaths.under(tmp_path)
    send(kafka, topic, [event("r-1", "09:01:00"), event("r-2", "09:02:00", unit_price=3.5)])
    run_available_now(spark, kafka, topic, paths)
    before = spark.read.format("delta").load(paths.gold).collect()

    batch = gold_windows(spark.read.format("delta").load(paths.bronze))
    merge = upsert_gold(paths.gold)
    merge(batch, 0)
    merge(batch, 0)  # a crash after the MERGE but before the checkpoint commit replays it

    after = spark.read.format("delta").load(paths.gold)
    assert_df_equality(after, spark.createDataFrame(before, after.schema), ignore_row_order=True)
    assert after.first().order_count == 2


def test_create_tables_is_idempotent(spark, tmp_path):
    paths = LabPaths.under(tmp_path)
    create_tables(spark, paths)
    create_tables(spark, paths)
    assert spark.read.format("delta").load(paths.gold).count() == 0
