"""A round trip through the real broker: keys, 3 partitions, LogAppendTime timestamps."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Producer

from labsupport.topics import topic_timestamp_type

pytestmark = pytest.mark.kafka


def consume_all(settings, topic: str, expected: int, timeout: float = 30.0) -> list:
    consumer = Consumer(
        {**settings.client_config(), "group.id": f"g-{topic}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    messages = []
    deadline = time.monotonic() + timeout
    try:
        while len(messages) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                messages.append(message)
    finally:
        consumer.close()
    return messages


def test_round_trip_keys_partitions_and_broker_timestamps(kafka, topic):
    assert topic_timestamp_type(kafka, topic) == "LogAppendTime"
    producer = Producer(kafka.client_config())
    keys = [f"order-{i % 20}".encode() for i in range(200)]
    before_ms = int(time.time() * 1000)
    for i, key in enumerate(keys):
        producer.produce(topic, key=key, value=f"event {i}".encode(), timestamp=1_000)
    assert producer.flush(15) == 0

    messages = consume_all(kafka, topic, expected=len(keys))
    assert len(messages) == len(keys)
    assert {m.partition() for m in messages} == {0, 1, 2}
    partition_of: dict[bytes, int] = {}
    for message in messages:
        assert partition_of.setdefault(message.key(), message.partition()) == message.partition(), (
            "every event of one key must land on the same partition"
        )
        kind, timestamp_ms = message.timestamp()
        assert kind == TIMESTAMP_LOG_APPEND_TIME
        assert timestamp_ms >= before_ms - 1_000, "the broker replaced the producer's timestamp"
