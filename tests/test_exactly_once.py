"""Exactly once: kill the pipeline with SIGKILL while a batch is being written, restart it, and
prove nothing was lost or duplicated — from the tables themselves. Also: replaying a Gold
micro-batch changes nothing.

The killed batch has its ``offsets/N`` file but no ``commits/N``: the restart runs it again with
the same offsets, and Delta's sink skips whatever part of it was already committed.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from labsupport.checkpoint import (
    batch_history,
    batch_ids,
    checkpoint_tree,
    committed_offsets,
    read_offsets,
)
from labsupport.config import LabPaths
from labsupport.errors import LabError
from labsupport.exactly_once import exactly_once_report
from labsupport.idempotency import delta_transactions
from labsupport.observe import lag_sample
from labsupport.pipeline import gold_windows
from labsupport.pipeline_process import pipeline_process
from labsupport.runner import (
    create_tables,
    refuse_a_new_checkpoint_over_data,
    run_available_now,
    upsert_gold,
)
from labsupport.topics import consumer_lag
from tests.streaming import bronze_frame, event, send

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
    bronze_checkpoint = paths.checkpoint("bronze")

    # the pipeline as its own process group (its Spark JVM included), like a learner's terminal
    with pipeline_process(
        kafka, topic, paths, trigger="1 second", max_offsets_per_trigger=BATCH
    ) as crashing:
        crashing.wait_for_commits(2, timeout=240)
        in_flight = crashing.wait_for_batch_in_flight(timeout=60)
        crashing.kill()  # SIGKILL: no finally, no flush — a power cut in the middle of a batch
    assert in_flight is not None and in_flight in batch_ids(bronze_checkpoint, "offsets")
    assert in_flight not in batch_ids(bronze_checkpoint), "killed before the batch committed"
    assert len(batch_ids(bronze_checkpoint)) < produced / BATCH, "the kill was mid-stream"

    # what survived is the checkpoint, as lesson 06 reads it
    tree = checkpoint_tree(bronze_checkpoint)
    assert all(part in tree for part in ("metadata", "offsets/", "commits/", "sources/"))
    planned = read_offsets(bronze_checkpoint)
    assert planned.batch_id == in_flight and planned.text.startswith("v1\n")
    assert set(planned.end_offsets) == {0, 1, 2}
    assert committed_offsets(bronze_checkpoint) == batch_history(bronze_checkpoint)[-1].end_offsets
    query_id = json.loads((Path(bronze_checkpoint) / "metadata").read_text())["id"]
    assert {t.app_id for t in delta_transactions(paths.bronze)} == {query_id}
    before = exactly_once_report(spark, paths, kafka, topic)
    assert before.missing > 0 and not before.exactly_once

    # the restart: new queries on the same checkpoints (here in the test's own Spark, as lesson 06
    # does); the killed batch runs again with its planned offsets, then the rest in one batch
    restarted = run_available_now(spark, kafka, topic, paths, timeout=300)
    assert restarted.bronze.recentProgress[0]["batchId"] == in_flight, "the killed batch first"

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

    report = exactly_once_report(spark, paths, kafka, topic)
    assert report.exactly_once and report.topic_records == produced, str(report)
    assert "exactly once ✓" in str(report)
    assert consumer_lag(kafka, topic, bronze_checkpoint) == {0: 0, 1: 0, 2: 0}
    send(kafka, topic, [event("o-new", "12:30:00")] * 3)
    sample = lag_sample(spark, kafka, topic, paths, "backlog")
    assert sample.total_lag == 3 and sample.freshness_s is not None and sample.freshness_s >= 0


def test_a_deleted_checkpoint_reads_the_topic_again(spark, kafka, topic, tmp_path):
    """The trap of lesson 06: new checkpoints start from ``earliest``; Bronze gets every record twice."""
    paths = LabPaths.under(tmp_path)
    records = [event(f"d-{i}", f"12:0{i}:00") for i in range(5)] + [b"not json"]
    send(kafka, topic, records)
    run_available_now(spark, kafka, topic, paths)
    shutil.rmtree(paths.checkpoint_root)
    with pytest.raises(LabError, match=r"holds data but its checkpoint .* is new"):
        run_available_now(spark, kafka, topic, paths)
    run_available_now(spark, kafka, topic, paths, allow_new_checkpoint=True)

    replayed = exactly_once_report(spark, paths, kafka, topic)
    assert replayed.duplicates == len(records) and replayed.missing == 0
    assert replayed.gold_matches, "Gold's MERGE of full values survives the replay"
    assert not replayed.exactly_once
    assert len({t.app_id for t in delta_transactions(paths.bronze)}) == 2, "a new query id"


def test_a_new_checkpoint_over_a_full_gold_table_is_refused(spark, tmp_path):
    """A partial replay would MERGE smaller totals over complete ones: refused, with the fix."""
    paths = LabPaths.under(tmp_path)
    create_tables(spark, paths)
    refuse_a_new_checkpoint_over_data(paths)  # empty tables, new checkpoints: a first start
    gold_windows(bronze_frame(spark, [event("g-1", "10:01:00")])).write.format("delta").mode(
        "append"
    ).save(paths.gold)
    refuse_a_new_checkpoint_over_data(paths, ["bronze", "quarantine"])  # Gold is not starting
    with pytest.raises(LabError) as refused:
        refuse_a_new_checkpoint_over_data(paths)
    assert str(refused.value).startswith(f"The gold table {paths.gold} holds data")
    assert "`make clean`" in str(refused.value) and "\n" not in str(refused.value)


def test_replaying_a_gold_batch_leaves_gold_unchanged(spark, tmp_path):
    """Gold's MERGE writes full values, so a micro-batch replayed after a crash changes nothing."""
    paths = LabPaths.under(tmp_path)
    create_tables(spark, paths)
    records = [event("r-1", "09:01:00"), event("r-2", "09:02:00", unit_price=3.5)]
    batch = gold_windows(bronze_frame(spark, records))
    merge = upsert_gold(paths.gold)
    merge(batch, 0)  # what the stream's batch 0 writes
    before = spark.read.format("delta").load(paths.gold).collect()
    merge(batch, 0)  # a crash after the MERGE but before the checkpoint commit replays it

    after = spark.read.format("delta").load(paths.gold)
    assert_df_equality(after, spark.createDataFrame(before, after.schema), ignore_row_order=True)
    assert after.first().order_count == 2 and after.count() == 1


def test_create_tables_is_idempotent(spark, tmp_path):
    paths = LabPaths.under(tmp_path)
    create_tables(spark, paths)
    create_tables(spark, paths)
    assert spark.read.format("delta").load(paths.gold).count() == 0
