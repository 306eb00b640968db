"""A small streaming test toolkit: build events, send them, run the pipeline, wait for results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import TypeVar

from confluent_kafka import Producer

from labsupport.config import KafkaSettings
from labsupport.pipeline import bronze_rows, valid_events, validate_records

T = TypeVar("T")

INGEST = datetime(2026, 1, 15, 10, 30)  # the broker's receipt time in kafka_frame


def kafka_frame(spark, values: list[bytes | None], ingest: datetime = INGEST):
    """A DataFrame shaped like Spark's Kafka source (value, topic, partition, offset, timestamp).

    For batch tests of the pipeline's functions: the same columns a micro-batch reads.
    """
    rows = [(value, "orders", 0, offset, ingest) for offset, value in enumerate(values)]
    return spark.createDataFrame(
        rows, "value binary, topic string, partition int, offset long, timestamp timestamp"
    )


def validated(spark, values: list[bytes | None], ingest: datetime = INGEST):
    """Raw record values through decode → parse → validate, as one micro-batch would see them."""
    return validate_records(kafka_frame(spark, values, ingest))


def bronze_frame(spark, events: list[dict], ingest: datetime = INGEST):
    """The Bronze rows a micro-batch writes for these events (sent as JSON, in this order)."""
    values = [json.dumps(e).encode() for e in events]
    return bronze_rows(valid_events(validated(spark, values, ingest)))


def event(
    order_id: str,
    at: str,
    *,
    region: str = "us-east",
    category: str = "Electronics",
    customer: str = "c-1",
    quantity: int = 1,
    unit_price: float = 10.0,
    event_type: str = "ORDER_PLACED",
) -> dict:
    """A valid order event at ``at`` (``"10:02:30"`` on the lab's test day, or a full ISO time)."""
    timestamp = at if "T" in at else f"2026-01-15T{at}{'' if '.' in at else '.000'}Z"
    return {
        "order_id": order_id,
        "customer_id": customer,
        "product_id": "P-1",
        "product_name": "Test product",
        "product_category": category,
        "quantity": quantity,
        "unit_price": unit_price,
        "total_price": round(unit_price * quantity, 2),
        "event_type": event_type,
        "region": region,
        "event_timestamp": timestamp,
    }


def send(settings: KafkaSettings, topic: str, records: Iterable[dict | bytes]) -> int:
    """Produce records (dicts as JSON, keyed by order_id; bytes as they are) and wait for the acks."""
    producer = Producer(settings.client_config())
    count = 0
    for record in records:
        if isinstance(record, dict):
            producer.produce(
                topic, key=record["order_id"].encode(), value=json.dumps(record).encode()
            )
        else:
            producer.produce(topic, value=record)
        count += 1
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} records were not acknowledged"
    return count


def assert_eventually(
    probe: Callable[[], T], accept: Callable[[T], bool], timeout: float = 60.0
) -> T:
    """Poll ``probe`` until ``accept`` holds; fail with the last value seen after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not accept(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout:.0f} s; last value: {value!r}")
        time.sleep(0.5)
        value = probe()
    return value


def utc(text: str) -> datetime:
    """``"10:05:00"`` on the test day as a naive UTC datetime (how Spark returns timestamps)."""
    return (
        datetime.fromisoformat(f"2026-01-15T{text}")
        .replace(tzinfo=timezone.utc)
        .replace(tzinfo=None)
    )
