"""The checks of the queries learners write in lessons 04 and 05, run phase by phase on Spark.

Each check runs the learner's function as a stream on recorded data, one available-now
micro-batch per phase (:mod:`labsupport.phased`); here it runs the reference solution (as in
``notebooks/solutions``, with knobs to break it) and the typical wrong answers.
"""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from labsupport.checks.core import NOT_ANSWERED
from labsupport.checks.lesson04 import check_orders_per_window, check_window_prediction
from labsupport.checks.lesson05 import check_my_gold, check_sliding_revenue
from labsupport.pipeline import gold_from_orders
from labsupport.predict import scenario_phases
from producer import load_scenario

pytestmark = pytest.mark.spark  # each check starts the lab's session itself

BATCHES = [
    ["10:01", "10:03", "10:07", "10:18"],
    ["10:02", "10:06", "10:12", "10:24"],
    ["10:09", "10:13", "10:16", "10:29"],
]


# --- 04.3: the prediction ------------------------------------------------------------------------
def test_check_window_prediction():
    # worked out by hand: watermarks none, 10:08, 10:14; 10:02 and 10:09 are dropped
    by_hand = {"10:00": 2, "10:05": 2, "10:10": 2, "10:15": 2, "10:20": 1, "10:25": 1}
    assert check_window_prediction(by_hand, BATCHES)
    counted_everything = {**by_hand, "10:00": 3, "10:05": 3}
    assert "every event" in check_window_prediction(counted_everything, BATCHES).message
    event_vs_watermark = {**by_hand, "10:05": 1, "10:10": 1}  # 10:06 and 10:13 compared as events
    verdict = check_window_prediction(event_vs_watermark, BATCHES)
    assert not verdict and "window 10:05: 1, not 2" in verdict.message
    assert not check_window_prediction([2, 2, 2], BATCHES)
    assert check_window_prediction(..., BATCHES).message == NOT_ANSWERED


# --- 04.4: the watermarked count -------------------------------------------------------------------
def _orders_per_window(*, watermark: str | None = "10 minutes", column: str = "event_timestamp"):
    """The reference solution of exercise 04.4, with knobs to break it."""

    def orders_per_window(events):
        placed = events.filter(F.col("event_type") == "ORDER_PLACED")
        if column != "event_timestamp":
            placed = placed.withColumn(column, F.current_timestamp())
        if watermark is not None:
            placed = placed.withWatermark(column, watermark)
        return placed.groupBy(F.window(column, "5 minutes")).count()

    return orders_per_window


def test_check_orders_per_window_accepts_the_solution(spark, tmp_path):
    verdict = check_orders_per_window(_orders_per_window(), spark, BATCHES, tmp_path)
    assert verdict, verdict.message


@pytest.mark.parametrize(
    ("knobs", "says"),
    [
        ({"watermark": None}, "without withWatermark"),
        ({"watermark": "5 minutes"}, "window 10:05: 1, not 2"),
        ({"column": "processed_at"}, "window on the event time"),
    ],
)
def test_check_orders_per_window_rejects(spark, tmp_path, knobs, says):
    verdict = check_orders_per_window(_orders_per_window(**knobs), spark, BATCHES, tmp_path)
    assert not verdict and says in verdict.message, verdict.message


def test_check_orders_per_window_rejects_what_is_not_a_function(spark, tmp_path):
    assert check_orders_per_window(..., spark, BATCHES, tmp_path).message == NOT_ANSWERED
    assert "the function itself" in check_orders_per_window(3, spark, BATCHES, tmp_path).message


# --- 05.3: Gold ------------------------------------------------------------------------------------
GOLD_PHASES = scenario_phases(load_scenario("duplicates")) + scenario_phases(
    load_scenario("too_late")
)


def _start_my_gold(*, mode: str = "update", adds: bool = False, watermark: bool = True):
    """The reference solution of exercise 05.3, with knobs to break it."""

    def start_my_gold(events, gold_path, checkpoint):
        placed = events.filter(F.col("event_type") == "ORDER_PLACED")
        if watermark:
            placed = placed.withWatermark("event_timestamp", "10 minutes")
        orders = placed.groupBy(
            F.window("event_timestamp", "5 minutes"), "region", "product_category"
        ).agg(
            F.collect_set(F.struct("order_id", "customer_id", "quantity", "total_price")).alias(
                "orders"
            )
        )
        condition = " AND ".join(
            f"gold.{k} = updates.{k}" for k in ("window_start", "region", "product_category")
        )

        def upsert(batch, batch_id):
            merge = (
                DeltaTable.forPath(batch.sparkSession, gold_path)
                .alias("gold")
                .merge(batch.alias("updates"), condition)
            )
            if adds:  # the classic slip: add the batch's numbers to the old row
                merge = merge.whenMatchedUpdate(
                    set={"order_count": "gold.order_count + updates.order_count"}
                )
            else:
                merge = merge.whenMatchedUpdateAll()
            merge.whenNotMatchedInsertAll().execute()

        return (
            gold_from_orders(orders)
            .writeStream.outputMode(mode)
            .foreachBatch(upsert)
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )

    return start_my_gold


def test_check_my_gold_accepts_the_solution(spark, tmp_path):
    verdict = check_my_gold(_start_my_gold(), spark, GOLD_PHASES, tmp_path)
    assert verdict, verdict.message


@pytest.mark.parametrize(
    ("knobs", "says"),
    [
        ({"mode": "append"}, "that is append mode"),
        ({"adds": True}, "Does your MERGE add to the old row?"),
        ({"watermark": False}, "counts the event the watermark drops"),
    ],
)
def test_check_my_gold_rejects(spark, tmp_path, knobs, says):
    verdict = check_my_gold(_start_my_gold(**knobs), spark, GOLD_PHASES, tmp_path)
    assert not verdict and says in verdict.message, verdict.message


# --- 05.4: a sliding window ------------------------------------------------------------------------
BOUNDARY_PHASES = scenario_phases(load_scenario("window_boundary"))


def _sliding_revenue(*, slide: str | None = "5 minutes", watermark: bool = True):
    """The reference solution of exercise 05.4, with knobs to break it."""

    def sliding_revenue(events):
        placed = events.filter(F.col("event_type") == "ORDER_PLACED")
        if watermark:
            placed = placed.withWatermark("event_timestamp", "10 minutes")
        window = F.window("event_timestamp", "10 minutes", slide or "10 minutes")
        return placed.groupBy(window, "region").agg(F.sum("total_price").alias("revenue"))

    return sliding_revenue


@pytest.mark.parametrize(
    ("knobs", "says"),
    [
        ({}, None),
        ({"watermark": False}, "is the watermark there"),
        ({"slide": None}, "give the slide"),
    ],
)
def test_check_sliding_revenue(spark, tmp_path, knobs, says):
    verdict = check_sliding_revenue(_sliding_revenue(**knobs), spark, BOUNDARY_PHASES, tmp_path)
    if says is None:
        assert verdict, verdict.message
    else:
        assert not verdict and says in verdict.message, verdict.message
