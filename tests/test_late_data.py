"""Late data through Kafka, in several runs of the same checkpoint (Spark's real watermark rule).

The rule under test (labsupport.pipeline.GOLD_RULE): an event counts in Gold if, when its
micro-batch runs, its window's end is later than the watermark = max event time of earlier
batches − 10 minutes. Each `run()` is one available-now run of the pipeline on the same
checkpoints, so the watermark of one run is what the next run is judged against.
"""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from labsupport.config import LabPaths
from labsupport.runner import run_available_now
from tests.streaming import event, send, utc

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.slow]


@pytest.fixture
def run(spark, kafka, topic, tmp_path):
    paths = LabPaths.under(tmp_path)

    def run_once():
        return run_available_now(spark, kafka, topic, paths, queries=("bronze", "gold"))

    run_once.paths = paths
    return run_once


def gold_counts(spark, paths: LabPaths) -> dict:
    rows = spark.read.format("delta").load(paths.gold).collect()
    return {(row.window_start, row.region): row.order_count for row in rows}


def test_late_events_inside_tolerance_count_and_too_late_ones_are_dropped(spark, kafka, topic, run):
    # Run 1: events up to 10:20:00 → after this run the watermark is 10:10:00.
    send(kafka, topic, [event("a1", "10:01:00"), event("a2", "10:12:00"), event("a3", "10:20:00")])
    first = run()
    assert first.gold.lastProgress["eventTime"]["watermark"] == "2026-01-15T10:10:00.000Z"

    # Run 2: four late events, judged against the stored watermark 10:10:00.
    send(kafka, topic, [
        event("late-1", "10:03:00"),      # window 10:00–10:05 ends before 10:10 → dropped
        event("late-2", "10:09:59.999"),  # window 10:05–10:10 ends exactly at 10:10 → dropped
        event("late-3", "10:10:00"),      # window 10:10–10:15 is still open → counted
        event("late-4", "10:14:00"),      # same open window → counted
    ])  # fmt: skip
    run()

    counts = gold_counts(spark, run.paths)
    assert counts[(utc("10:00:00"), "us-east")] == 1, "late-1 must not be counted"
    assert (utc("10:05:00"), "us-east") not in counts, "late-2's window had already closed"
    assert counts[(utc("10:10:00"), "us-east")] == 3, "a2, late-3 and late-4"
    assert counts[(utc("10:20:00"), "us-east")] == 1

    bronze_ids = {
        row.order_id for row in spark.read.format("delta").load(run.paths.bronze).collect()
    }
    assert bronze_ids == {"a1", "a2", "a3", "late-1", "late-2", "late-3", "late-4"}, (
        "Bronze keeps every valid event, including those Gold dropped as too late"
    )


def test_watermark_survives_a_restart_and_drops_are_reported(spark, kafka, topic, run):
    send(kafka, topic, [event("b1", "11:30:00")])
    run()  # watermark now 11:20:00, stored in the checkpoint
    send(kafka, topic, [event("too-late", "11:05:00"), event("b2", "11:31:00")])
    second = run()  # a new query object, the same checkpoint

    progress = [p for p in second.gold.recentProgress if p["numInputRows"] > 0]
    assert progress, "the second run processed the two events"
    assert progress[0]["eventTime"]["watermark"] == "2026-01-15T11:20:00.000Z"
    # the metric counts window groups dropped after partial aggregation, not events
    assert sum(p["stateOperators"][0]["numRowsDroppedByWatermark"] for p in progress) >= 1

    gold = spark.read.format("delta").load(run.paths.gold)
    assert gold.filter(F.col("window_start") == utc("11:05:00")).count() == 0
    assert gold.filter(F.col("window_start") == utc("11:30:00")).first().order_count == 2
