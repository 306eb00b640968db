"""The plain-Python event contract: one copy of the rules, lenient like Spark or strict like the producer.

Spark's own reasons are compared with these in ``tests/test_quarantine.py`` (every malformed
kind) and ``tests/test_predict.py`` (every recorded scenario); here, the rules without Spark.
"""

from __future__ import annotations

import json

import pytest

from labsupport.contract import event_time, event_violations, read_record, record_violations
from producer import OrderFeed, contract_violations, encode_event


def _event() -> dict:
    return OrderFeed(seed=11).next_event()


def test_a_produced_event_breaks_no_rule_in_either_mode():
    value = encode_event(_event())
    assert record_violations(value) == []
    assert record_violations(value, strict=True) == []
    assert contract_violations(value) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"order_id": "order-1"}, "order_id is not a UUID"),
        (
            {"event_timestamp": "2026-01-15T10:03:27Z"},
            "event_timestamp is not the producer's shape 2026-01-15T10:03:27.512Z",
        ),
    ],
)
def test_strict_mode_adds_the_producers_two_promises(change, reason):
    event = {**_event(), **change}
    assert event_violations(event) == [], "Spark accepts it, so the lenient contract does"
    assert event_violations(event, strict=True) == [reason]
    assert contract_violations(json.dumps(event).encode()) == [reason]


def test_every_broken_rule_is_named_not_only_the_first():
    event = {**_event(), "quantity": 0, "region": "mars", "unit_price": -1.0}
    del event["customer_id"]
    assert event_violations(event) == [
        "missing field customer_id",
        "unknown region 'mars'",
        "quantity must be at least 1",
        "unit_price must not be negative",
        "total_price is not unit_price × quantity",
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "record has no value"),
        (b"\xff\xfe{", "value is not valid UTF-8"),
        (b"[1, 2]", "value is not a JSON object"),
        (b'{"order_id": "a",', "value is not a JSON object"),
    ],
)
def test_values_that_are_not_events_say_why(value, reason):
    assert read_record(value) == (None, [reason])


def test_event_time_reads_iso_8601_as_naive_utc_like_spark():
    assert event_time("2026-01-15T11:00:00.000+01:00") == event_time("2026-01-15T10:00:00Z")
    assert event_time("yesterday") is None
    assert event_time(1_700_000_000) is None
