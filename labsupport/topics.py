"""Create the lab's topic the way the design needs it, idempotently.

``order-events`` has 3 partitions (the producer keys by ``order_id``, so an order's events share
one) and ``message.timestamp.type=LogAppendTime``: the record timestamp is then the broker's
receipt time, which is exactly what the Bronze column ``kafka_ingest_ts`` promises.
"""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, OffsetSpec

from labsupport.config import TOPIC, TOPIC_PARTITIONS, KafkaSettings
from labsupport.errors import LabError

__all__ = [
    "TOPIC_CONFIG",
    "delete_topic",
    "ensure_topic",
    "topic_timestamp_type",
    "wait_until_topic_serves",
]

TOPIC_CONFIG = {"message.timestamp.type": "LogAppendTime"}
#: what a broker answers for a partition of a topic created a moment ago
_NOT_READY_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def _admin(settings: KafkaSettings) -> AdminClient:
    # log_level 0: librdkafka's own connection errors would flood the terminal; the lab
    # reports an unreachable broker itself, in one line.
    return AdminClient({**settings.client_config(), "log_level": 0})


def ensure_topic(
    settings: KafkaSettings,
    name: str = TOPIC,
    partitions: int = TOPIC_PARTITIONS,
    timeout: float = 15.0,
) -> bool:
    """Create ``name`` unless it exists; return True when this call created it.

    Either way the topic is ready when this returns: every partition answers an offset request
    (see :func:`wait_until_topic_serves`).
    """
    admin = _admin(settings)
    try:
        existing = admin.list_topics(timeout=timeout).topics
    except KafkaException as error:
        raise LabError(
            f"Kafka at {settings.bootstrap_servers} did not answer ({error.args[0].str()}): "
            "start it with `make start`, or check KAFKA_BOOTSTRAP_SERVERS."
        ) from None
    if name in existing:
        wait_until_topic_serves(admin, name, partitions=len(existing[name].partitions))
        return False
    topic = NewTopic(name, num_partitions=partitions, replication_factor=-1, config=TOPIC_CONFIG)
    future = admin.create_topics([topic], operation_timeout=timeout)[name]
    try:
        future.result(timeout=timeout)
    except KafkaException as error:
        if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
            raise LabError(f"Could not create topic {name}: {error.args[0].str()}") from None
        created = False  # created meanwhile by someone else
    else:
        created = True
    wait_until_topic_serves(admin, name, partitions, timeout)
    return created


def wait_until_topic_serves(
    admin: AdminClient, name: str, partitions: int, timeout: float = 15.0
) -> None:
    """Wait until every partition of ``name`` answers an offset request from its leader.

    A topic created a moment ago is listed, and its metadata may already name a leader, while
    the broker still answers "not leader for partition" for a few hundred milliseconds. A
    client that reads offsets or produces in that moment fails, so the lab asks the leaders
    themselves, and only returns once all of them answer.
    """
    if partitions < 1:
        return
    latest = {TopicPartition(name, p): OffsetSpec.latest() for p in range(partitions)}
    deadline = time.monotonic() + timeout
    while True:
        try:
            for future in admin.list_offsets(latest, request_timeout=timeout).values():
                future.result(timeout=timeout)
            return
        except KafkaException as error:
            if error.args[0].code() not in _NOT_READY_YET:
                return  # e.g. no describe right on a real cluster: the real calls will say so
            if time.monotonic() > deadline:
                raise LabError(
                    f"Topic {name}'s partitions have no working leader {timeout:.0f} s after "
                    "its creation: check the broker's log (`make status`), then try again."
                ) from None
        time.sleep(0.2)


def delete_topic(settings: KafkaSettings, name: str, timeout: float = 15.0) -> bool:
    """Delete ``name``; return False when it did not exist."""
    admin = _admin(settings)  # keep a reference: the future dies with its client
    future = admin.delete_topics([name], operation_timeout=timeout)[name]
    try:
        future.result(timeout=timeout)
    except KafkaException as error:
        if error.args[0].name() == "UNKNOWN_TOPIC_OR_PART":
            return False
        raise
    return True


def topic_timestamp_type(settings: KafkaSettings, name: str = TOPIC, timeout: float = 15.0) -> str:
    """The topic's ``message.timestamp.type`` (``LogAppendTime`` for the lab's topic)."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    admin = _admin(settings)
    configs = admin.describe_configs([resource])[resource].result(timeout=timeout)
    return configs["message.timestamp.type"].value
