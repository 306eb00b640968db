"""A round trip through the real broker: keys, 3 partitions, LogAppendTime timestamps."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from labsupport.topics import delete_topic, ensure_topic, topic_timestamp_type

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


def test_a_topic_is_usable_the_moment_ensure_topic_returns(kafka):
    """No "not leader for partition" right after creation: ensure_topic waits for the leaders.

    Seen in CI before it did: a topic listed, its metadata naming a leader, and the broker still
    refusing an offset request for a few hundred milliseconds.
    """
    admin = AdminClient(kafka.client_config())
    for attempt in range(5):  # the race was intermittent: try it several times
        name = f"test-ready-{attempt}-{uuid.uuid4().hex[:8]}"
        assert ensure_topic(kafka, name) is True
        try:
            latest = {TopicPartition(name, p): OffsetSpec.latest() for p in range(3)}
            ends = [f.result(timeout=10).offset for f in admin.list_offsets(latest).values()]
            assert ends == [0, 0, 0]
        finally:
            delete_topic(kafka, name)
