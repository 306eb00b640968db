"""The recorded scenarios: every file loads, its valid events keep the contract, its `expect`s are right."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from labsupport.config import SCENARIOS_DIR
from labsupport.contract import FATES
from labsupport.errors import LabError
from labsupport.schema import ORDER_PLACED
from producer import (
    MALFORMED_KINDS,
    OrderFeed,
    Scenario,
    ScenarioRecord,
    contract_violations,
    list_scenarios,
    load_scenario,
    malformed_record,
)
from producer.timefmt import parse_timestamp

NOTEBOOK_SCENARIOS = (
    "on_time",
    "late_within_tolerance",
    "too_late",
    "window_boundary",
    "duplicates",
    "malformed",
)
WATERMARK = timedelta(minutes=10)
WINDOW = timedelta(minutes=5)
SCENARIOS = list_scenarios()


def window_end(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + ((moment - day) // WINDOW + 1) * WINDOW


def test_the_notebooks_scenarios_exist_in_lesson_order():
    assert [scenario.name for scenario in SCENARIOS][: len(NOTEBOOK_SCENARIOS)] == list(
        NOTEBOOK_SCENARIOS
    )
    assert len(list(SCENARIOS_DIR.glob("*.json"))) == len(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_every_record_has_an_expectation_and_the_valid_ones_keep_the_contract(scenario: Scenario):
    assert scenario.description and "\n" not in scenario.description
    assert load_scenario(scenario.name) == scenario
    for record in scenario.records:
        assert record.expect in FATES
        reasons = contract_violations(record.value)
        if record.expect == "quarantine":
            assert reasons, f"{scenario.name}: a record expected in quarantine keeps the contract"
            continue
        assert reasons == [], (scenario.name, record.note, reasons)
        event = json.loads(record.value)
        assert record.key == event["order_id"].encode(), "the key must be the order_id"
        assert event["event_timestamp"].startswith("2026-01-15T"), "fixed times on a fixed day"
        assert (record.expect == "not_counted") == (event["event_type"] != ORDER_PLACED)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_expectations_follow_the_watermark_rule(scenario: Scenario):
    """Replay Spark's rule phase by phase (one micro-batch per phase) and compare with `expect`."""
    newest: datetime | None = None
    seen: set[bytes] = set()
    for phase in scenario.phases:
        watermark = None if newest is None else newest - WATERMARK
        for record in phase:
            if record.expect == "quarantine":
                continue
            event = json.loads(record.value)
            moment = parse_timestamp(event["event_timestamp"])
            if record.value in seen:
                expected = "duplicate"
            elif event["event_type"] != ORDER_PLACED:
                expected = "not_counted"
            elif watermark is not None and window_end(moment) <= watermark:
                expected = "dropped_late"
            else:
                expected = "counted"
            assert record.expect == expected, (scenario.name, event["event_timestamp"], record.note)
            seen.add(record.value)
        newest = max(
            [
                parse_timestamp(json.loads(r.value)["event_timestamp"])
                for r in phase
                if r.expect != "quarantine"
            ]
            + ([newest] if newest else [])
        )


def test_the_late_scenarios_demonstrate_what_their_names_say():
    expects = {
        scenario.name: [[record.expect for record in phase] for phase in scenario.phases]
        for scenario in SCENARIOS
    }
    assert expects["late_within_tolerance"][1] == ["counted"]
    assert expects["too_late"][1] == ["dropped_late"]
    assert sorted(expects["window_boundary"][1]) == ["counted", "dropped_late"]
    boundary = load_scenario("window_boundary")
    times = sorted(record.event["event_timestamp"] for record in boundary.phases[1])
    assert times == ["2026-01-15T10:09:59.999Z", "2026-01-15T10:10:00.000Z"]
    assert max(record.event["event_timestamp"] for record in boundary.phases[0]).endswith(
        "10:20:00.000Z"
    )


def test_on_time_has_a_returning_customer_and_a_cancel_and_an_update_of_earlier_orders():
    scenario = load_scenario("on_time")
    events = [record.event for record in scenario.records]
    placed = {event["order_id"] for event in events if event["event_type"] == ORDER_PLACED}
    followups = [event for event in events if event["event_type"] != ORDER_PLACED]
    assert sorted(event["event_type"] for event in followups) == [
        "ORDER_CANCELLED",
        "ORDER_UPDATED",
    ]
    assert all(event["order_id"] in placed for event in followups)
    customers = [event["customer_id"] for event in events if event["event_type"] == ORDER_PLACED]
    assert len(set(customers)) < len(customers)
    assert len({event["region"] for event in events}) >= 4
    assert len({event["product_category"] for event in events}) >= 4


def test_duplicates_are_identical_copies_of_earlier_records():
    scenario = load_scenario("duplicates")
    records = scenario.records
    copies = [i for i, record in enumerate(records) if record.expect == "duplicate"]
    assert len(copies) >= 2
    for i in copies:
        assert any(
            (earlier.key, earlier.value) == (records[i].key, records[i].value)
            for earlier in records[:i]
        )


def test_malformed_has_one_record_of_each_kind_and_valid_ones_around_them():
    scenario = load_scenario("malformed")
    notes = [record.note for record in scenario.records if record.expect == "quarantine"]
    assert sorted(note.split(" ")[0] for note in notes) == sorted(MALFORMED_KINDS)
    assert len(scenario.expecting("counted")) >= 2
    not_utf8 = next(r for r in scenario.records if r.note and r.note.startswith("not_utf8"))
    with pytest.raises(UnicodeDecodeError):
        not_utf8.value.decode("utf-8")


def test_a_bad_scenario_file_is_reported_in_one_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(
        json.dumps(
            {"name": "broken", "description": "x", "phases": [[{"key": "k", "expect": "maybe"}]]}
        )
    )
    with pytest.raises(LabError, match="exactly one of value, raw, raw_base64"):
        load_scenario(path)
    with pytest.raises(LabError, match="No scenario named 'nope': choose one of on_time"):
        load_scenario("nope")
    with pytest.raises(LabError, match="phase"):
        load_scenario("too_late").phase(3)


@pytest.mark.spark
def test_the_pipeline_quarantines_exactly_the_records_the_scenarios_say(spark):
    """The real validator (labsupport.pipeline) agrees with every `expect` and reads every time exactly."""
    from labsupport.pipeline import decode_records, parse_events, validate_events

    records = [record for scenario in SCENARIOS for record in scenario.records]
    feed, rng = OrderFeed(seed=8), random.Random(8)
    records += [  # and the producer's malformed records, every kind in several variants
        ScenarioRecord(None, malformed_record(kind, feed.next_event(), rng), "quarantine", kind)
        for kind in MALFORMED_KINDS
        for _ in range(12)
    ]
    frame = spark.createDataFrame(
        [
            (record.value, "t", 0, offset, datetime(2026, 1, 15, 11))
            for offset, record in enumerate(records)
        ],
        "value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    rows = validate_events(parse_events(decode_records(frame))).orderBy("kafka_offset").collect()
    for record, row in zip(records, rows, strict=True):
        if record.expect == "quarantine":
            assert row.reasons, f"the pipeline accepts a record meant for quarantine: {record.note}"
        else:
            assert row.reasons == [], (record.note, row.reasons)
            expected = parse_timestamp(record.event["event_timestamp"])
            assert row.event.event_timestamp == expected.astimezone(timezone.utc).replace(
                tzinfo=None
            )
