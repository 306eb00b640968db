"""Exactly once: kill the pipeline with SIGKILL mid-stream, restart it, and prove nothing was lost
or duplicated — from the tables themselves. Also: replaying a Gold micro-batch changes nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from labsupport.pipeline import gold_windows
from labsupport.runner import LabPaths, create_tables, start_pipeline, upsert_gold
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


def pipeline_process(kafka, topic: str, paths: LabPaths, trigger: str) -> subprocess.Popen:
    """The pipeline as its own process group (its Spark JVM included), like a learner's terminal."""
    log = (Path(paths.checkpoint_root).parent / "pipeline.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labsupport",
            "pipeline",
            "run",
            "--trigger",
            trigger,
            "--max-offsets-per-trigger",
            str(BATCH),
            "--bootstrap-servers",
            kafka.bootstrap_servers,
            "--topic",
            topic,
            "--delta-root",
            str(paths.delta_root),
            "--checkpoint-root",
            str(paths.checkpoint_root),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def committed_batches(paths: LabPaths) -> int:
    return len(list((Path(paths.checkpoint("bronze")) / "commits").glob("[0-9]*")))


def kill_after_more_batches(process: subprocess.Popen, paths: LabPaths, more: int) -> None:
    """SIGKILL the whole process group once Bronze has committed ``more`` further batches."""
    target = committed_batches(paths) + more
    deadline = time.monotonic() + 240
    try:
        while committed_batches(paths) < target:
            assert process.poll() is None, f"the pipeline exited early with {process.returncode}"
            assert time.monotonic() < deadline, "the pipeline made no progress in 240 s"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def test_sigkill_and_restart_lose_nothing_and_duplicate_nothing(spark, kafka, topic, tmp_path):
    paths = LabPaths(tmp_path / "delta", tmp_path / "checkpoints")
    records, produced = feed()
    send(kafka, topic, records)

    for _ in range(2):  # crash twice, each time in the middle of the stream
        kill_after_more_batches(pipeline_process(kafka, topic, paths, "1 second"), paths, more=2)
    assert committed_batches(paths) < produced / BATCH, "the kills happened mid-stream"

    finishing = pipeline_process(kafka, topic, paths, "available-now")
    try:
        assert finishing.wait(480) == 0, (tmp_path / "pipeline.log").read_text()[-3000:]
    finally:
        if finishing.poll() is None:
            os.killpg(finishing.pid, signal.SIGKILL)
            finishing.wait(30)

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
    paths = LabPaths(tmp_path / "delta", tmp_path / "checkpoints")
    send(kafka, topic, [event("r-1", "09:01:00"), event("r-2", "09:02:00", unit_price=3.5)])
    pipeline = start_pipeline(spark, kafka, topic, paths, trigger="available-now")
    pipeline.await_all(timeout=180)
    before = spark.read.format("delta").load(paths.gold).collect()

    batch = gold_windows(spark.read.format("delta").load(paths.bronze))
    merge = upsert_gold(paths.gold)
    merge(batch, 0)
    merge(batch, 0)  # a crash after the MERGE but before the checkpoint commit replays it

    after = spark.read.format("delta").load(paths.gold)
    assert_df_equality(after, spark.createDataFrame(before, after.schema), ignore_row_order=True)
    assert after.first().order_count == 2


def test_create_tables_is_idempotent(spark, tmp_path):
    paths = LabPaths(tmp_path / "delta", tmp_path / "checkpoints")
    create_tables(spark, paths)
    create_tables(spark, paths)
    assert spark.read.format("delta").load(paths.gold).count() == 0
