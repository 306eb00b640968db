"""The checks of lessons 06 and 07: each rejects wrong answers and accepts the reference solution.

Real Kafka, Spark and Delta throughout: a real pipeline run leaves a real checkpoint, and the
Delta tables are written by Spark.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from pyspark.sql import functions as F

from labsupport.checks.core import NOT_ANSWERED
from labsupport.checks.lesson06 import check_duplicate_offsets, check_last_commit
from labsupport.checks.lesson07 import (
    check_bare_copy,
    check_partition_lag,
    check_revenue_as_of,
)
from labsupport.config import LabPaths
from labsupport.runner import run_available_now
from producer import produce_events
from tests.conftest import fresh_topic

# one worker runs the whole module, so its pipeline run (the module fixture) happens once
pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.xdist_group("checks_06_07")]


@pytest.fixture(scope="module")
def pipeline_run(spark, kafka, tmp_path_factory):
    """60 records through the real pipeline in 3 micro-batches: (paths, topic)."""
    with fresh_topic(kafka, "test-checks0607") as topic:
        paths = LabPaths.under(tmp_path_factory.mktemp("checks0607"))
        produce_events(kafka, topic, rate=5_000, count=60, seed=3, progress=False)
        run_available_now(spark, kafka, topic, paths, max_offsets_per_trigger=25, timeout=300)
        yield paths, topic


def _solution_06_1(checkpoint: str, topic: str) -> tuple[int, dict[int, int]]:
    """The reference solution of exercise 06.1, as in notebooks/solutions."""
    path = Path(checkpoint)
    last_batch = max(int(f.name) for f in (path / "commits").iterdir() if f.name.isdigit())
    lines = (path / "offsets" / str(last_batch)).read_text().splitlines()
    return last_batch, {int(p): o for p, o in json.loads(lines[-1])[topic].items()}


# --- Lesson 06 ----------------------------------------------------------------------------------------
def test_check_last_commit_accepts_the_solution(pipeline_run):
    paths, topic = pipeline_run
    checkpoint = paths.checkpoint("bronze")
    last_batch, end_offsets = _solution_06_1(checkpoint, topic)
    result = check_last_commit(last_batch, end_offsets, checkpoint)
    assert result, result.message
    assert "60 records read" in result.message
    as_text = {str(p): o for p, o in end_offsets.items()}  # JSON's keys, unconverted: fine too
    assert check_last_commit(last_batch, as_text, checkpoint)


def test_check_last_commit_rejects_wrong_answers(pipeline_run, tmp_path):
    paths, topic = pipeline_run
    checkpoint = paths.checkpoint("bronze")
    last_batch, end_offsets = _solution_06_1(checkpoint, topic)
    assert check_last_commit(..., end_offsets, checkpoint).message == NOT_ANSWERED
    assert check_last_commit(last_batch, ..., checkpoint).message == NOT_ANSWERED

    earlier = check_last_commit(last_batch - 1, end_offsets, checkpoint)
    assert not earlier and f"expected {last_batch}, got {last_batch - 1}" in earlier.message
    assert "commits" in earlier.hint
    assert not check_last_commit(str(last_batch), end_offsets, checkpoint)
    assert not check_last_commit(last_batch, [1, 2, 3], checkpoint)
    off_by_one = {p: o - 1 for p, o in end_offsets.items()}
    wrong = check_last_commit(last_batch, off_by_one, checkpoint)
    assert not wrong and "end offsets" in wrong.message

    # a batch in flight: planned (offsets/N) but not committed — not the answer
    crashed = tmp_path / "crashed"
    shutil.copytree(checkpoint, crashed)
    (crashed / "offsets" / str(last_batch + 1)).write_text(
        (crashed / "offsets" / str(last_batch)).read_text()
    )
    planned = check_last_commit(last_batch + 1, end_offsets, str(crashed))
    assert not planned and "planned, not done" in planned.message
    assert check_last_commit(last_batch, end_offsets, str(crashed))

    empty = tmp_path / "empty"
    (empty / "commits").mkdir(parents=True)
    assert "no committed batch" in check_last_commit(0, {}, str(empty)).message


def test_check_duplicate_offsets(spark, tmp_path, pipeline_run):
    path = str(tmp_path / "bronze")
    rows = [(0, 0), (0, 0), (0, 1), (1, 0), (1, 0), (1, 0), (2, 5)]
    spark.createDataFrame(rows, "kafka_partition int, kafka_offset long").write.format(
        "delta"
    ).save(path)
    bronze = spark.read.format("delta").load(path)
    solution = (
        bronze.groupBy("kafka_partition", "kafka_offset").count().where(F.col("count") > 1).count()
    )
    assert solution == 2
    accepted = check_duplicate_offsets(solution, spark, path)
    assert accepted and "2 Kafka records" in accepted.message

    every_row = check_duplicate_offsets(7, spark, path)
    assert not every_row and "every row of Bronze" in every_row.message
    assert "groupBy" in every_row.hint or "group Bronze" in every_row.hint
    extra_rows = check_duplicate_offsets(3, spark, path)  # rows beyond the first copy: 3, not 2
    assert not extra_rows and "expected 2, got 3" in extra_rows.message
    assert not check_duplicate_offsets("2", spark, path)
    assert check_duplicate_offsets(..., spark, path).message == NOT_ANSWERED

    paths, _ = pipeline_run  # a pipeline's Bronze after one clean run: no duplicates
    assert check_duplicate_offsets(0, spark, paths.bronze)
    assert not check_duplicate_offsets(1, spark, paths.bronze)


# --- Lesson 07 ----------------------------------------------------------------------------------------
def test_check_revenue_as_of(spark, tmp_path):
    path = str(tmp_path / "gold")
    schema = "region string, total_revenue double"
    spark.createDataFrame([("us-east", 1.25), ("eu-west", 2.5)], schema).write.format("delta").save(
        path
    )
    spark.createDataFrame([("us-east", 10.0)], schema).write.format("delta").mode("append").save(
        path
    )
    solution = (
        spark.read.format("delta")
        .option("versionAsOf", 0)
        .load(path)
        .agg(F.sum("total_revenue"))
        .first()[0]
    )
    assert solution == 3.75
    assert check_revenue_as_of(solution, spark, path, 0)
    assert check_revenue_as_of(3.754, spark, path, 0), "rounding within a cent is fine"
    assert check_revenue_as_of(13.75, spark, path, 1)

    current = check_revenue_as_of(13.75, spark, path, 0)
    assert not current and "current version" in current.message and "versionAsOf" in current.hint
    wrong = check_revenue_as_of(1.25, spark, path, 0)
    assert not wrong and "expected 3.75, got 1.25" in wrong.message
    assert not check_revenue_as_of("3.75", spark, path, 0)
    assert "no version 7" in check_revenue_as_of(3.75, spark, path, 7).message
    assert check_revenue_as_of(..., spark, path, 0).message == NOT_ANSWERED


def test_check_partition_lag(kafka, pipeline_run):
    paths, topic = pipeline_run
    checkpoint = paths.checkpoint("gold")
    produce_events(kafka, topic, rate=5_000, count=7, seed=4, progress=False)  # a backlog

    # the reference solution of exercise 07.2
    consumer = Consumer(
        {**kafka.client_config(), "group.id": "test-lag", "enable.auto.commit": False}
    )
    try:
        partitions = consumer.list_topics(topic=topic, timeout=10).topics[topic].partitions
        end = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
    finally:
        consumer.close()
    path = Path(checkpoint)
    last = max(int(f.name) for f in (path / "commits").iterdir() if f.name.isdigit())
    line = (path / "offsets" / str(last)).read_text().splitlines()[-1]
    committed = {int(p): o for p, o in json.loads(line)[topic].items()}
    solution = {p: end[p] - committed[p] for p in end}
    assert sum(solution.values()) == 7

    accepted = check_partition_lag(solution, kafka, topic, checkpoint)
    assert accepted and "7 records not in Bronze yet" in accepted.message
    ends = check_partition_lag(end, kafka, topic, checkpoint)
    assert not ends and "end offsets" in ends.message
    negative = check_partition_lag(
        {p: -lag for p, lag in solution.items()}, kafka, topic, checkpoint
    )
    assert not negative and "expected" in negative.message
    assert not check_partition_lag(7, kafka, topic, checkpoint)
    assert check_partition_lag(..., kafka, topic, checkpoint).message == NOT_ANSWERED
    missing = check_partition_lag(solution, kafka, "test-never-created-topic", checkpoint)
    assert not missing and "does not know topic" in missing.message


def _bare_copy(spark, kafka, topic, table, checkpoint, *, starting="earliest", trigger=None):
    """The reference solution of exercise 07.3 (as in notebooks/solutions), with knobs to break it."""
    return (
        spark.readStream.format("kafka")
        .options(**kafka.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", starting)
        .load()
        .select("key", "value", "partition", "offset", "timestamp")
        .writeStream.format("delta")
        .option("checkpointLocation", checkpoint)
        .trigger(**(trigger or {"availableNow": True}))
        .start(table)
    )


def test_check_bare_copy(spark, kafka, pipeline_run, tmp_path):
    _, topic = pipeline_run
    table, checkpoint = str(tmp_path / "bare"), str(tmp_path / "checkpoints" / "bare")
    accepted = check_bare_copy(
        _bare_copy(spark, kafka, topic, table, checkpoint), spark, kafka, topic, table, checkpoint
    )
    assert accepted and "exactly once" in accepted.message, accepted.message

    def check(query, table, checkpoint, **kwargs):
        return check_bare_copy(query, spark, kafka, topic, table, checkpoint, **kwargs)

    latest_table, latest_cp = str(tmp_path / "latest"), str(tmp_path / "cp-latest")
    latest = check(
        _bare_copy(spark, kafka, topic, latest_table, latest_cp, starting="latest"),
        latest_table,
        latest_cp,
    )
    assert not latest and "found nothing to read" in latest.message, latest.message

    running_table, running_cp = str(tmp_path / "running"), str(tmp_path / "cp-running")
    query = _bare_copy(
        spark, kafka, topic, running_table, running_cp, trigger={"processingTime": "1 second"}
    )
    running = check(query, running_table, running_cp, timeout=5)
    assert not running and "still running" in running.message
    assert not query.isActive, "the check stops a query it gave up on"

    elsewhere = check(
        _bare_copy(spark, kafka, topic, str(tmp_path / "t2"), str(tmp_path / "cp2")),
        str(tmp_path / "t2"),
        str(tmp_path / "somewhere-else"),
    )
    assert not elsewhere and "give that path as the checkpointLocation" in elsewhere.message
    assert not check("spark.readStream", table, checkpoint)
    assert check(..., table, checkpoint).message == NOT_ANSWERED
