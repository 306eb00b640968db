"""The checks of lessons 04 and 05: each rejects wrong answers and accepts the reference solution.

Real Kafka, Spark and Delta throughout: the recorded ``duplicates`` scenario is replayed to a
fresh topic and the real pipeline runs once (available-now), leaving a Bronze table with both
copies of each re-sent order, a Gold table that counts them once, and a stopped Gold query whose
progress holds a watermark.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pyspark.sql import functions as F

from labsupport.checks.core import NOT_ANSWERED
from labsupport.checks.lesson04 import check_counts_in_gold, check_last_watermark
from labsupport.checks.lesson05 import check_final_output_mode, check_window_revenue
from labsupport.config import LabPaths
from labsupport.runner import run_available_now
from producer import replay_scenario
from tests.conftest import fresh_topic

# one worker runs the whole module, so its pipeline run (the module fixture) happens once
pytestmark = pytest.mark.xdist_group("checks_04_05")

WATERMARK = datetime(2026, 1, 15, 10, 12)
EVENT_TIMES = [
    datetime(2026, 1, 15, 10, 3, 20),
    datetime(2026, 1, 15, 10, 11),
    datetime(2026, 1, 15, 10, 9, 59, 999000),
    datetime(2026, 1, 15, 10, 14, 59),
]
WINDOW = datetime(2026, 1, 15, 10, 0)


@pytest.fixture(scope="module")
def duplicates_run(spark, kafka, tmp_path_factory):
    """The duplicates scenario through the real pipeline, once: (paths, the stopped Gold query)."""
    with fresh_topic(kafka, "test-checks0405") as topic:
        paths = LabPaths.under(tmp_path_factory.mktemp("checks0405"))
        replay_scenario(kafka, topic, "duplicates")
        pipeline = run_available_now(spark, kafka, topic, paths, queries=("bronze", "gold"))
        yield paths, pipeline.gold


# --- Lesson 04 ----------------------------------------------------------------------------------------
def _solution_04_1() -> list[bool]:
    """The reference solution of exercise 04.1, as in notebooks/solutions."""

    def window_end(moment):
        start = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
        return start + timedelta(minutes=5)

    return [window_end(moment) > WATERMARK for moment in EVENT_TIMES]


def test_check_counts_in_gold_accepts_the_solution():
    result = check_counts_in_gold(_solution_04_1(), EVENT_TIMES, WATERMARK)
    assert result, result.message
    assert _solution_04_1() == [False, True, False, True]
    assert "10:11:00 counts" in result.message


def test_check_counts_in_gold_names_the_event_time_mistake():
    naive = [moment > WATERMARK for moment in EVENT_TIMES]  # compares the event, not its window
    result = check_counts_in_gold(naive, EVENT_TIMES, WATERMARK)
    assert not result
    assert "window end" in result.message and "10:11:00" in result.message
    assert "END" in result.hint


def test_check_counts_in_gold_rejects_other_answers():
    assert not check_counts_in_gold([True] * 4, EVENT_TIMES, WATERMARK)
    short = check_counts_in_gold([False, True], EVENT_TIMES, WATERMARK)
    assert not short and "4 answers" in short.message
    assert not check_counts_in_gold([0, 1, 0, 1], EVENT_TIMES, WATERMARK), "booleans, not ints"
    assert not check_counts_in_gold("yes", EVENT_TIMES, WATERMARK)
    assert check_counts_in_gold(..., EVENT_TIMES, WATERMARK).message == NOT_ANSWERED


@pytest.fixture(scope="module")
def on_time_gold(spark, kafka, tmp_path_factory):
    """A second Gold query, with another watermark than duplicates_run's: the stopped query."""
    with fresh_topic(kafka, "test-checks0405-on-time") as topic:
        paths = LabPaths.under(tmp_path_factory.mktemp("on-time"))
        replay_scenario(kafka, topic, "on_time")
        yield run_available_now(spark, kafka, topic, paths, queries=("bronze", "gold")).gold


def _last_watermark(query):
    """The reference solution of exercise 04.2, as in notebooks/solutions."""
    return query.lastProgress["eventTime"]["watermark"]


@pytest.mark.kafka
@pytest.mark.spark
def test_check_last_watermark_accepts_the_progress_value_as_text_or_datetime(
    duplicates_run, on_time_gold
):
    _, gold = duplicates_run
    assert _last_watermark(gold) == "2026-01-15T09:58:15.000Z", "newest 10:08:15 − 10 minutes"
    assert _last_watermark(on_time_gold) != _last_watermark(gold)
    result = check_last_watermark(_last_watermark, gold, on_time_gold)
    assert result, result.message

    def as_datetime(query):
        text = query.lastProgress["eventTime"]["watermark"]
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)

    assert check_last_watermark(as_datetime, gold, on_time_gold)


@pytest.mark.kafka
@pytest.mark.spark
def test_check_last_watermark_rejects_another_time(duplicates_run, on_time_gold):
    _, gold = duplicates_run

    def newest_event(query):  # the last batch read nothing: its progress has no "max"
        return [p["eventTime"]["max"] for p in query.recentProgress if "max" in p["eventTime"]][-1]

    newest = check_last_watermark(newest_event, gold)
    assert not newest and "newest event time (max)" in newest.message
    assert "lastProgress" in newest.hint
    copied = check_last_watermark(lambda q: "2026-01-15T09:58:15.000Z", gold, on_time_gold)
    assert not copied and "its last batch ran with" in copied.message, copied.message
    assert "the function itself" in check_last_watermark("2026-01-15T09:58:15.000Z", gold).message
    assert check_last_watermark(..., gold).message == NOT_ANSWERED


# --- Lesson 05 ----------------------------------------------------------------------------------------
def _solution_05_1(spark, bronze_path: str) -> float:
    """The reference solution of exercise 05.1, as in notebooks/solutions."""
    bronze = spark.read.format("delta").load(bronze_path)
    orders = bronze.filter(
        (F.col("event_type") == "ORDER_PLACED")
        & (F.col("region") == "us-east")
        & (F.col("event_timestamp") >= WINDOW)
        & (F.col("event_timestamp") < WINDOW + timedelta(minutes=5))
    ).dropDuplicates(["order_id", "customer_id", "quantity", "total_price"])
    return round(orders.agg(F.sum("total_price")).first()[0], 2)


@pytest.mark.kafka
@pytest.mark.spark
def test_check_window_revenue_accepts_the_solution(duplicates_run, spark):
    paths, _ = duplicates_run
    solution = _solution_05_1(spark, paths.bronze)
    assert solution == pytest.approx(302.98 + 166.49)
    result = check_window_revenue(solution, spark, paths.bronze, paths.gold, "us-east", WINDOW)
    assert result, result.message


@pytest.mark.kafka
@pytest.mark.spark
def test_check_window_revenue_spots_the_copies_counted_twice(duplicates_run, spark):
    paths, _ = duplicates_run
    with_copies = 2 * (302.98 + 166.49)  # Bronze holds both copies of both orders
    result = check_window_revenue(with_copies, spark, paths.bronze, paths.gold, "us-east", WINDOW)
    assert not result and "counts the re-sent copies twice" in result.message
    assert "dropDuplicates" in result.hint
    assert not check_window_revenue(100.0, spark, paths.bronze, paths.gold, "us-east", WINDOW)
    assert not check_window_revenue("469.47", spark, paths.bronze, paths.gold, "us-east", WINDOW)
    missing = check_window_revenue(1.0, spark, paths.bronze, paths.gold, "ap-southeast", WINDOW)
    assert not missing and "no row" in missing.message
    placeholder = check_window_revenue(..., spark, paths.bronze, paths.gold, "us-east", WINDOW)
    assert placeholder.message == NOT_ANSWERED


def test_check_final_output_mode():
    assert check_final_output_mode("append")
    assert check_final_output_mode(" Append ")
    update = check_final_output_mode("update")
    assert not update and "early" in update.message
    assert not check_final_output_mode("complete")
    assert not check_final_output_mode("merge")
    assert check_final_output_mode(...).message == NOT_ANSWERED
