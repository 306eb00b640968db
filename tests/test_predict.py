"""labsupport.predict: the late-data rule in plain Python, against hand-computed cases and real Spark.

The fast tests check the model on small cases worked out by hand (and on the ``expect`` written
next to every record of the recorded scenarios). The slow ones replay each scenario through
Kafka phase by phase, with an available-now run of the real pipeline after each phase (the same
checkpoints throughout), and assert that Spark's Gold table and the watermark of each batch are
exactly what the model predicted.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from labsupport.config import LabPaths
from labsupport.predict import (
    counts_in_gold,
    fates_frame,
    predict_fates,
    predict_gold,
    predict_watermarks,
    scenario_phases,
    window_of,
)
from labsupport.runner import run_available_now
from producer import encode_event, list_scenarios, load_scenario, replay_scenario
from tests.streaming import event, send, utc

SCENARIOS = [scenario.name for scenario in list_scenarios()]


def fates(phases) -> list[tuple[str | None, str]]:
    return [(fate["order_id"], fate["fate"]) for fate in predict_fates(phases)]


def half_cent(order_id: str, at: str, **kwargs) -> dict:
    """An order of 0.125: its total needs rounding (Spark rounds half up, Python's round does not)."""
    order = event(order_id, at, unit_price=0.125, **kwargs)
    order["total_price"] = 0.125
    return order


def gold_counts(phases) -> dict:
    return {
        (row["window_start"], row["region"]): row["order_count"] for row in predict_gold(phases)
    }


# --- The rule, one event at a time ---------------------------------------------------------------
def test_windows_are_aligned_start_inclusive_end_exclusive():
    assert window_of(utc("10:05:00")) == (utc("10:05:00"), utc("10:10:00"))
    assert window_of(utc("10:09:59.999")) == (utc("10:05:00"), utc("10:10:00"))
    assert window_of(utc("10:10:00")) == (utc("10:10:00"), utc("10:15:00"))
    assert window_of(datetime(2026, 1, 15, 23, 58)) == (
        datetime(2026, 1, 15, 23, 55),
        datetime(2026, 1, 16, 0, 0),
    )


def test_an_event_counts_while_its_window_ends_after_the_watermark():
    watermark = utc("10:08:00")
    assert counts_in_gold(utc("10:06:00"), watermark), "older than the watermark, window still open"
    assert not counts_in_gold(utc("10:04:59"), watermark), "its window ended at 10:05"
    assert not counts_in_gold(utc("10:09:59.999"), utc("10:10:00")), "end == watermark is too late"
    assert counts_in_gold(utc("10:10:00"), utc("10:10:00"))
    assert counts_in_gold(utc("09:00:00"), None), "no watermark yet: nothing is late"


# --- Hand-computed micro-batches -------------------------------------------------------------------
def test_the_late_data_case_of_test_late_data_by_hand():
    phases = [
        [event("a1", "10:01:00"), event("a2", "10:12:00"), event("a3", "10:20:00")],
        [
            event("late-1", "10:03:00"),
            event("late-2", "10:09:59.999"),
            event("late-3", "10:10:00"),
            event("late-4", "10:14:00"),
        ],
    ]
    assert predict_watermarks(phases) == [None, utc("10:10:00")]
    assert fates(phases) == [
        ("a1", "counted"), ("a2", "counted"), ("a3", "counted"),
        ("late-1", "dropped_late"), ("late-2", "dropped_late"),
        ("late-3", "counted"), ("late-4", "counted"),
    ]  # fmt: skip
    assert gold_counts(phases) == {
        (utc("10:00:00"), "us-east"): 1,
        (utc("10:10:00"), "us-east"): 3,
        (utc("10:20:00"), "us-east"): 1,
    }


def test_one_batch_is_judged_against_one_watermark():
    # 10:00 is 40 minutes older than 10:40, but they share the first batch: no watermark yet
    phases = [[event("new", "10:40:00"), event("old", "10:00:00")], [event("x", "10:29:00")]]
    assert fates(phases) == [("new", "counted"), ("old", "counted"), ("x", "dropped_late")]
    assert predict_watermarks(phases) == [None, utc("10:30:00")]


def test_the_watermark_comes_from_earlier_batches_and_never_moves_back():
    phases = [
        [event("p1", "10:30:00")],
        [event("p2", "10:01:00"), event("p3", "10:21:00")],  # 10:01 is late, 10:21 is not
        [event("p4", "10:22:00")],  # the watermark stays at 10:20: phase 2 did not lower it
    ]
    assert predict_watermarks(phases) == [None, utc("10:20:00"), utc("10:20:00")]
    assert fates(phases) == [
        ("p1", "counted"), ("p2", "dropped_late"), ("p3", "counted"), ("p4", "counted"),
    ]  # fmt: skip


def test_only_order_placed_events_move_the_watermark():
    cancel = event("c1", "11:00:00", event_type="ORDER_CANCELLED")
    phases = [[event("p1", "10:00:00"), cancel], [event("p2", "09:52:00")]]
    assert predict_watermarks(phases) == [None, utc("09:50:00")]
    assert fates(phases) == [("p1", "counted"), ("c1", "not_counted"), ("p2", "counted")]


def test_dropped_events_still_move_the_watermark():
    phases = [[event("p1", "10:30:00")], [event("late", "10:00:00")], [event("p2", "10:18:00")]]
    assert fates(phases)[1] == ("late", "dropped_late")
    assert predict_watermarks(phases)[2] == utc("10:20:00")


def test_an_identical_order_counts_once_a_changed_one_twice():
    first = event("o1", "10:01:00", customer="c-1")
    again = dict(first)
    more = event("o1", "10:02:00", customer="c-1", quantity=2)  # same order id, other quantity
    phases = [[first, again], [dict(first), more]]
    assert [fate for _, fate in fates(phases)] == ["counted", "duplicate", "duplicate", "counted"]
    (row,) = predict_gold(phases)
    assert (row["order_count"], row["total_units_sold"], row["unique_customers"]) == (2, 3, 1)
    assert row["total_revenue"] == 30.0 and row["avg_order_value"] == 15.0


def test_invalid_records_go_to_quarantine_and_bytes_are_read_like_kafka_values():
    bad_region = event("r1", "10:00:00", region="sa-east")
    phases = [
        [
            b"not json",
            b"\xff\xfe",
            bad_region,
            {"order_id": "m1"},
            encode_event(event("b1", "10:00:00")),  # a valid event given as bytes
        ]
    ]
    result = predict_fates(phases)
    assert [fate["fate"] for fate in result] == ["quarantine"] * 4 + ["counted"]
    assert result[0]["reason"] == "value is not a JSON object"
    assert result[1]["reason"] == "value is not valid UTF-8"
    assert result[2]["reason"] == "unknown region 'sa-east'"
    assert "missing field customer_id" in result[3]["reason"]
    assert result[4]["order_id"] == "b1"


def test_gold_rows_have_the_design_columns_and_round_half_up():
    phases = [
        [
            half_cent("o1", "10:01:00", customer="c-1"),
            event("o2", "10:03:00", customer="c-2", unit_price=10.0, quantity=2),
            event("o3", "10:06:00", region="eu-west", category="Home", unit_price=3.0),
        ]
    ]
    assert predict_gold(phases) == [
        {
            "window_start": utc("10:00:00"), "window_end": utc("10:05:00"),
            "region": "us-east", "product_category": "Electronics",
            "order_count": 2, "total_revenue": 20.13, "avg_order_value": 10.06,
            "total_units_sold": 3, "unique_customers": 2,
        },
        {
            "window_start": utc("10:05:00"), "window_end": utc("10:10:00"),
            "region": "eu-west", "product_category": "Home",
            "order_count": 1, "total_revenue": 3.0, "avg_order_value": 3.0,
            "total_units_sold": 1, "unique_customers": 1,
        },
    ]  # fmt: skip


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_fates_match_what_each_scenario_file_expects(name):
    scenario = load_scenario(name)
    predicted = [fate["fate"] for fate in predict_fates(scenario_phases(scenario))]
    assert predicted == [record.expect for record in scenario.records]


def test_fates_frame_is_a_compact_table():
    frame = fates_frame(predict_fates(scenario_phases(load_scenario("window_boundary"))))
    assert list(frame.columns) == [
        "phase", "order_id", "event_type", "event_time", "window", "watermark", "fate", "reason",
    ]  # fmt: skip
    dropped = frame[frame.fate == "dropped_late"].iloc[0]
    assert (dropped.event_time, dropped.window, dropped.watermark) == (
        "10:09:59.999",
        "10:05–10:10",
        "10:10:00",
    )


# --- Predict, run, compare: the real pipeline ---------------------------------------------------------
#: Scenarios with a late phase: each needs its own checkpoint (the watermark is per query).
LATE_SCENARIOS = [name for name in SCENARIOS if len(load_scenario(name).phases) > 1]
#: One-phase scenarios: one micro-batch, no watermark yet, so nothing in them can be late.
ONE_PHASE_SCENARIOS = [name for name in SCENARIOS if name not in LATE_SCENARIOS]


def _run_phases(spark, kafka, topic, paths: LabPaths, phases, send_phase) -> list[str]:
    """Send each phase, then run the pipeline available-now; the watermark of each data batch."""
    watermarks = []
    for number, phase in enumerate(phases, start=1):
        send_phase(number, phase)
        pipeline = run_available_now(spark, kafka, topic, paths, queries=("gold",))
        batches = [p for p in pipeline.gold.recentProgress if p["numInputRows"] > 0]
        assert len(batches) == 1, f"phase {number} should be one micro-batch"
        watermarks.append(batches[0]["eventTime"]["watermark"])
    return watermarks


def _spark_gold(spark, paths: LabPaths) -> list[dict]:
    table = spark.read.format("delta").load(paths.gold)
    ordered = table.orderBy("window_start", "region", "product_category").collect()
    return [row.asDict() for row in ordered]


def _as_progress(moment: datetime | None) -> str:
    """A predicted watermark as Spark's progress writes it (epoch 0 before the first)."""
    return f"{moment or datetime(1970, 1, 1):%Y-%m-%dT%H:%M:%S.000Z}"


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("name", LATE_SCENARIOS)
def test_spark_gold_equals_the_prediction_phase_by_phase(name, spark, kafka, topic, tmp_path):
    scenario = load_scenario(name)
    phases = scenario_phases(scenario)
    predicted, predicted_watermarks = predict_gold(phases), predict_watermarks(phases)
    paths = LabPaths.under(tmp_path)

    def replay(number, _phase):
        replay_scenario(kafka, topic, scenario, phase=number)

    watermarks = _run_phases(spark, kafka, topic, paths, phases, replay)

    assert _spark_gold(spark, paths) == predicted
    assert watermarks == [_as_progress(w) for w in predicted_watermarks]


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
def test_spark_gold_equals_the_prediction_for_the_one_phase_scenarios(
    spark, kafka, topic, tmp_path
):
    """They are replayed into one micro-batch: with no watermark yet, together is the same as apart
    (the model is given the same single batch, so its windows merge exactly as Spark's do)."""
    assert ONE_PHASE_SCENARIOS, "on_time, duplicates and malformed have one phase"
    scenarios = [load_scenario(name) for name in ONE_PHASE_SCENARIOS]
    batch = [record for scenario in scenarios for record in scenario_phases(scenario)[0]]
    paths = LabPaths.under(tmp_path)

    def replay(_number, _phase):
        for scenario in scenarios:
            replay_scenario(kafka, topic, scenario, phase=1)

    watermarks = _run_phases(spark, kafka, topic, paths, [batch], replay)

    assert _spark_gold(spark, paths) == predict_gold([batch])
    assert watermarks == [_as_progress(None)]


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
def test_spark_agrees_on_the_corner_cases(spark, kafka, topic, tmp_path):
    """The cases the scenarios do not cover, in two batches of the same checkpoint."""
    phases = [
        [
            half_cent("o1", "10:01:00"),  # half a cent: Spark rounds half up
            event("o2", "10:04:00", customer="c-2"),
            event("o3", "10:22:00", region="eu-west"),  # the watermark becomes 10:12
            event("c1", "10:59:00", event_type="ORDER_CANCELLED"),  # it does not move the watermark
        ],
        [
            event("o4", "10:11:00"),  # older than the watermark 10:12, but 10:10–10:15 is open
            event("o5", "10:09:00"),  # window 10:05–10:10 closed: dropped
            half_cent("o1", "10:01:00"),  # a retry, judged late now
            event("o2", "10:04:00", customer="c-2", quantity=3),  # a changed order, late too
            event("o3", "10:22:00", region="eu-west"),  # a retry in a later batch: counts once
            event("o6", "10:40:00", region="eu-west"),
            event("o7", "10:10:00", customer="c-3"),
        ],
    ]
    assert [fate for _, fate in fates(phases)] == [
        "counted", "counted", "counted", "not_counted",
        "counted", "dropped_late", "dropped_late", "dropped_late", "duplicate", "counted",
        "counted",
    ]  # fmt: skip
    predicted = predict_gold(phases)
    assert any(row["total_revenue"] == 10.13 for row in predicted), "0.125 + 10.00, half up"
    paths = LabPaths.under(tmp_path)
    watermarks = _run_phases(
        spark, kafka, topic, paths, phases, lambda _n, phase: send(kafka, topic, phase)
    )

    assert _spark_gold(spark, paths) == predicted
    assert watermarks == [_as_progress(w) for w in predict_watermarks(phases)]
