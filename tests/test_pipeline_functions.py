"""Each lesson function on small batch DataFrames (the same functions run as streams)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from chispa import assert_df_equality
from chispa.schema_comparer import assert_schema_equality
from pyspark.sql import functions as F

from labsupport.pipeline import (
    bronze_rows,
    decode_records,
    gold_windows,
    invalid_records,
    parse_events,
    parse_events_plainly,
    quarantine_rows,
    valid_events,
    validate_events,
)
from labsupport.plans import count_in_plan
from labsupport.schema import BRONZE_SCHEMA, GOLD_SCHEMA, QUARANTINE_SCHEMA
from tests.streaming import INGEST, event, kafka_frame, validated

pytestmark = pytest.mark.spark


def reasons_of(spark, value) -> list[str]:
    return validated(spark, [value]).first().reasons


def as_bytes(record: dict) -> bytes:
    return json.dumps(record).encode()


GOOD = event("o-1", "10:01:00", quantity=2, unit_price=10.5)


def test_a_valid_event_parses_with_its_types(spark):
    row = validated(spark, [as_bytes(GOOD)]).first()
    assert row.reasons == []
    assert row.event.quantity == 2
    assert row.event.total_price == 21.0
    assert row.event.event_timestamp == datetime(2026, 1, 15, 10, 1)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "record has no value"),
        (b"\xff\xfe{", "value is not valid UTF-8"),
        (b"not json", "value is not a JSON object"),
        (b'{"order_id": "o-1", "quantity": 2', "value is not a JSON object"),  # truncated
        (b"[1, 2]", "value is not a JSON object"),
        (as_bytes({k: v for k, v in GOOD.items() if k != "region"}), "missing field region"),
        (as_bytes({**GOOD, "quantity": "two"}), "quantity is null or not an integer"),
        (as_bytes({**GOOD, "unit_price": None}), "unit_price is null or not a number"),
        (
            as_bytes({**GOOD, "event_timestamp": "yesterday"}),
            "event_timestamp is null or not an ISO-8601 timestamp",
        ),
        (as_bytes({**GOOD, "event_type": "ORDER_SHIPPED"}), "unknown event_type 'ORDER_SHIPPED'"),
        (as_bytes({**GOOD, "region": "mars"}), "unknown region 'mars'"),
        (as_bytes({**GOOD, "product_category": "Toys"}), "unknown product_category 'Toys'"),
        (as_bytes({**GOOD, "quantity": -1, "total_price": -10.5}), "quantity must be at least 1"),
        (
            as_bytes({**GOOD, "unit_price": -1.0, "total_price": -2.0}),
            "unit_price must not be negative",
        ),
        (as_bytes({**GOOD, "total_price": 99.0}), "total_price is not unit_price × quantity"),
    ],
)
def test_each_validation_rule_names_its_reason(spark, value, reason):
    assert reason in reasons_of(spark, value)


def test_totals_within_a_cent_are_valid_and_any_product_id_is_accepted(spark):
    near = {
        **GOOD,
        "unit_price": 3.33,
        "quantity": 3,
        "total_price": 9.99,
        "product_id": "anything",
    }
    assert reasons_of(spark, as_bytes(near)) == []


def test_records_in_equal_bronze_plus_quarantine(spark):
    values = [
        as_bytes(GOOD),
        b"garbage",
        None,
        as_bytes({**GOOD, "region": "mars"}),
        as_bytes(GOOD),
    ]
    checked = validated(spark, values)
    bronze = bronze_rows(valid_events(checked))
    quarantine = quarantine_rows(invalid_records(checked))
    assert bronze.count() + quarantine.count() == len(values)
    offsets = [r.kafka_offset for r in bronze.collect() + quarantine.collect()]
    assert sorted(offsets) == list(range(len(values))), "every record lands exactly once"


def test_bronze_has_the_design_columns_and_types(spark):
    bronze = bronze_rows(valid_events(validated(spark, [as_bytes(GOOD)])))
    assert_schema_equality(bronze.schema, BRONZE_SCHEMA, ignore_nullable=True)
    row = bronze.first()
    assert row.event_date == date(2026, 1, 15)
    assert (row.kafka_partition, row.kafka_offset, row.kafka_ingest_ts) == (0, 0, INGEST)


def test_quarantine_keeps_the_raw_value_safely(spark):
    quarantine = quarantine_rows(invalid_records(validated(spark, [b"\xff\xfe{", b"oops"])))
    assert_schema_equality(quarantine.schema, QUARANTINE_SCHEMA, ignore_nullable=True)
    rows = {r.kafka_offset: r for r in quarantine.collect()}
    assert rows[0].raw_value is None and rows[0].raw_value_base64 == "//57"
    assert rows[1].raw_value == "oops" and rows[1].raw_value_base64 is None


def test_gold_arithmetic_dedup_and_unique_customers(spark):
    events = [
        event("o-1", "10:01:00", customer="c-1", quantity=2, unit_price=10.0),
        event("o-1", "10:01:00", customer="c-1", quantity=2, unit_price=10.0),  # sent twice
        event("o-2", "10:02:00", customer="c-1", quantity=1, unit_price=5.5),
        event("o-3", "10:04:59", customer="c-2", quantity=3, unit_price=1.25),
        event("o-4", "10:05:00", customer="c-3", quantity=1, unit_price=7.0),  # next window
        event("o-5", "10:03:00", customer="c-4", region="eu-west", quantity=1, unit_price=2.0),
        event("o-1", "10:03:00", customer="c-1", event_type="ORDER_CANCELLED"),  # not revenue
    ]
    bronze = bronze_rows(valid_events(validated(spark, [as_bytes(e) for e in events])))
    gold = gold_windows(bronze)
    expected = spark.createDataFrame(
        [
            (datetime(2026, 1, 15, 10, 0), datetime(2026, 1, 15, 10, 5), "eu-west", "Electronics", 1, 2.0, 2.0, 1, 1),
            (datetime(2026, 1, 15, 10, 0), datetime(2026, 1, 15, 10, 5), "us-east", "Electronics", 3, 29.25, 9.75, 6, 2),
            (datetime(2026, 1, 15, 10, 5), datetime(2026, 1, 15, 10, 10), "us-east", "Electronics", 1, 7.0, 7.0, 1, 1),
        ],
        GOLD_SCHEMA,
    )  # fmt: skip
    assert_df_equality(
        gold, expected, ignore_row_order=True, ignore_nullable=True, ignore_column_order=False
    )


def test_gold_uses_event_time_not_arrival_time(spark):
    late_arrival = [as_bytes(event("o-9", "09:58:00"))]
    gold = gold_windows(bronze_rows(valid_events(validated(spark, late_arrival))))
    assert gold.select(F.hour("window_start"), F.minute("window_start")).first() == (9, 55)


@pytest.mark.parametrize(
    "output",
    [
        lambda v: bronze_rows(valid_events(v)),
        lambda v: quarantine_rows(invalid_records(v)),
        lambda v: gold_windows(valid_events(v)),
    ],
    ids=["bronze", "quarantine", "gold"],
)
def test_each_record_is_parsed_once_whatever_the_optimizer_does(spark, output):
    # The filters of valid_events/invalid_records would otherwise be pushed below the parse,
    # with from_json copied into each of the ~40 rules (27 copies in Bronze's plan, measured).
    plan = output(validated(spark, [as_bytes(GOOD)]))._jdf.queryExecution().optimizedPlan()
    assert plan.toString().count("from_json(") == 1


def test_the_plain_parse_gives_the_same_rows_but_parses_each_record_many_times(spark):
    """Lesson 02's comparison: same Bronze rows, one from_json in the plan against dozens."""
    records = kafka_frame(spark, [as_bytes(GOOD), b"not json", as_bytes(event("o-2", "10:02:00"))])

    def to_bronze(parse):
        return bronze_rows(valid_events(validate_events(parse(decode_records(records)))))

    plainly, once = to_bronze(parse_events_plainly), to_bronze(parse_events)
    assert_df_equality(plainly, once, ignore_row_order=True)
    assert count_in_plan(once, "from_json(") == 1
    assert count_in_plan(plainly, "from_json(") > 10
