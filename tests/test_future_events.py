"""A producer clock that runs ahead cannot poison the watermark: such events go to quarantine.

An ``event_timestamp`` more than ``FUTURE_TOLERANCE`` (5 minutes) after the broker's receipt
time breaks the contract — in Spark (``validate_events``), in plain Python (``contract``) and in
the prediction (``predict``) alike — so one event stamped 2999 no longer moves Gold's watermark
to 2999 and silently drops every honest event after it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from labsupport.checkpoint import batch_history
from labsupport.config import FUTURE_TOLERANCE, LabPaths
from labsupport.contract import FUTURE_REASON, event_violations, record_violations
from labsupport.predict import predict_fates, predict_gold
from labsupport.runner import run_available_now
from tests.streaming import event, send, utc

RECEIVED = datetime(2026, 1, 15, 10, 30)


def test_the_reason_names_the_tolerance():
    assert timedelta(minutes=5) == FUTURE_TOLERANCE
    assert FUTURE_REASON == "event_timestamp is more than 5 minutes after the broker received it"


@pytest.mark.parametrize(
    ("at", "future"),
    [
        ("10:34:59", False),
        ("10:35:00", False),
        ("10:35:00.001", True),
        ("2999-01-01T00:00:00Z", True),
    ],
)
def test_the_contract_quarantines_an_event_stamped_after_the_tolerance(at, future):
    order = event("o-1", at)
    assert event_violations(order, received_at=RECEIVED) == ([FUTURE_REASON] if future else [])
    assert event_violations(order) == [], "without a receipt time the rule does not apply"


def test_recorded_scenarios_are_in_the_past_and_unaffected():
    from producer import list_scenarios

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for scenario in list_scenarios():
        for record in scenario.records:
            if record.event is not None:
                assert FUTURE_REASON not in event_violations(record.event, received_at=now)


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
def test_one_future_event_cannot_poison_the_watermark(spark, kafka, topic, tmp_path):
    paths = LabPaths.under(tmp_path)
    ahead = datetime.now(timezone.utc) + timedelta(hours=3)
    phases = [
        [event("a", "10:01:00"), event("b", "10:12:00")],
        [event("clock-gone-wrong", "2999-01-01T00:00:00.000Z"),
         event("ahead-3h", f"{ahead:%Y-%m-%dT%H:%M:%S}.000Z"), event("c", "10:14:00")],
        [event("d", "10:16:00")],  # would be dropped as too late under a 2999 watermark
    ]  # fmt: skip
    for phase in phases:
        send(kafka, topic, phase)
        run_available_now(spark, kafka, topic, paths)

    fates = {fate["order_id"]: fate["fate"] for fate in predict_fates(phases)}
    assert fates == {"a": "counted", "b": "counted", "clock-gone-wrong": "quarantine",
                     "ahead-3h": "quarantine", "c": "counted", "d": "counted"}  # fmt: skip

    quarantine = spark.read.format("delta").load(paths.quarantine).collect()
    assert sorted(json.loads(row.raw_value)["order_id"] for row in quarantine) == [
        "ahead-3h",
        "clock-gone-wrong",
    ]
    for row in quarantine:  # Spark's reasons are the plain-Python contract's, word for word
        assert row.reasons == [FUTURE_REASON]
        assert record_violations(row.raw_value.encode(), received_at=row.kafka_ingest_ts) == [
            FUTURE_REASON
        ]

    watermarks = [b.watermark for b in batch_history(paths.checkpoint("gold"))]
    assert max(watermarks) == utc("10:16:00") - timedelta(minutes=10)  # the honest events only
    gold = spark.read.format("delta").load(paths.gold)
    assert gold.groupBy().sum("order_count").first()[0] == 4
    assert sorted(row.order_count for row in gold.collect()) == sorted(
        row["order_count"] for row in predict_gold(phases)
    )
