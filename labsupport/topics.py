"""Kafka from the lab's side: the topic, its offsets, and the one place that builds clients.

``order-events`` has 3 partitions (the producer keys by ``order_id``, so an order's events share
one) and ``message.timestamp.type=LogAppendTime``: the record timestamp is then the broker's
receipt time, which is exactly what the Bronze column ``kafka_ingest_ts`` promises.

- **Clients**: :func:`admin_client` and :func:`offsets_consumer` build every admin client and
  consumer the package uses, with librdkafka's own log off (the lab reports problems itself, in
  one line). The producer builds its own (``producer.connect``).
- **The topic**: :func:`ensure_topic` (idempotent, ready when it returns), :func:`delete_topic`
  (returns once Kafka no longer lists it), :func:`recreate_topic`.
- **Offsets**: :func:`topic_offsets` (the broker's watermarks per partition),
  :func:`consumer_lag` (how far a streaming query's checkpoint is behind the topic),
  :func:`read_to_end` (every record the topic holds now), :func:`starting_offsets_json`.

>>> starting_offsets_json("orders", {0: 12, 2: 7, 1: 9})
'{"orders": {"0": 12, "1": 9, "2": 7}}'
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, OffsetSpec

from labsupport.checkpoint import committed_offsets
from labsupport.config import TOPIC, TOPIC_PARTITIONS, KafkaSettings, min_in_sync_replicas
from labsupport.errors import LabError, is_login_failure, kafka_unreachable
from labsupport.net import port_open

__all__ = [
    "TOPIC_CONFIG",
    "admin_client",
    "broker_reachable",
    "consumer_lag",
    "delete_topic",
    "ensure_topic",
    "offsets_consumer",
    "read_to_end",
    "recreate_topic",
    "starting_offsets_json",
    "topic_end_offsets",
    "topic_offsets",
    "topic_timestamp_type",
    "wait_until_topic_serves",
]

TOPIC_CONFIG = {"message.timestamp.type": "LogAppendTime"}
#: what a broker answers for a partition of a topic created a moment ago
_NOT_READY_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._NOENT,  # the client's own metadata names no leader yet: "No leaders found"
}


#: librdkafka's own log lines (connection errors, queue purges) would flood a terminal or a
#: notebook; the lab reports an unreachable broker itself, in one line.
_QUIET = {"log_level": 0}


def admin_client(settings: KafkaSettings, errors: list[KafkaError] | None = None) -> AdminClient:
    """An admin client for ``settings``'s cluster (keep a reference while its futures run).

    ``errors`` collects what the client reports outside a request (refused, login failed).
    """
    extra = {} if errors is None else {"error_cb": errors.append}
    return AdminClient({**settings.client_config(), **_QUIET, **extra})


def list_cluster_topics(settings: KafkaSettings, timeout: float) -> tuple[AdminClient, dict]:
    """An admin client that reached the cluster, and its topics; a one-line error otherwise.

    A refused login ends the wait at once (the client would retry until ``timeout``).
    """
    errors: list[KafkaError] = []
    admin = admin_client(settings, errors)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return admin, admin.list_topics(timeout=min(1.0, timeout)).topics
        except KafkaException as error:
            admin.poll(0)  # serve the error callback: it says why
            login = next((e.str() for e in errors if is_login_failure(e.str())), None)
            if login is not None or time.monotonic() >= deadline:
                detail = login or (errors[-1] if errors else error.args[0]).str()
                raise kafka_unreachable(settings.bootstrap_servers, detail, timeout) from None


def offsets_consumer(settings: KafkaSettings, group_id: str) -> Consumer:
    """A consumer that reads by assignment and never commits: it leaves no trace in the group."""
    return Consumer(
        {**settings.client_config(), **_QUIET, "group.id": group_id, "enable.auto.commit": False}
    )


def broker_reachable(settings: KafkaSettings, timeout: float = 3.0) -> bool:
    """True when the first bootstrap address accepts a TCP connection within ``timeout``.

    A quick, quiet probe before asking Kafka anything: a closed port answers at once, where a
    Kafka client would retry (and log) until its own, longer timeout.
    """
    first = settings.bootstrap_servers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        return False
    return port_open(host.strip("[]"), int(port), timeout)


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
    admin, existing = list_cluster_topics(settings, timeout)
    if name in existing:
        wait_until_topic_serves(admin, name, partitions=len(existing[name].partitions))
        return False
    # three brokers or more (`make cluster`): three copies, two of which must hold each write
    brokers = len(admin.list_topics(timeout=timeout).brokers)
    replicas = 3 if brokers >= 3 else 1
    config = {**TOPIC_CONFIG, "min.insync.replicas": str(min_in_sync_replicas(replicas))}
    topic = NewTopic(name, num_partitions=partitions, replication_factor=replicas, config=config)
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
            if error.args[0].code() == KafkaError._NOENT:
                admin.list_topics(topic=name, timeout=timeout)  # refresh the client's metadata
            if time.monotonic() > deadline:
                raise LabError(
                    f"Topic {name}'s partitions have no working leader {timeout:.0f} s after "
                    "its creation: check the broker's log (`make status`), then try again."
                ) from None
        time.sleep(0.2)


def delete_topic(settings: KafkaSettings, name: str, timeout: float = 15.0) -> bool:
    """Delete ``name`` and wait until Kafka no longer lists it; False when it did not exist.

    Kafka deletes a topic in the background: until it is unlisted, creating it again fails with
    "marked for deletion". Bounded by ``timeout``; a one-line :class:`LabError` after it.
    """
    admin = admin_client(settings)  # keep a reference: the future dies with its client
    future = admin.delete_topics([name], operation_timeout=timeout)[name]
    try:
        future.result(timeout=timeout)
    except KafkaException as error:
        if error.args[0].name() == "UNKNOWN_TOPIC_OR_PART":
            return False
        raise LabError(f"Could not delete topic {name}: {error.args[0].str()}") from None
    deadline = time.monotonic() + timeout
    while name in admin.list_topics(timeout=5).topics:
        if time.monotonic() > deadline:
            raise LabError(
                f"Kafka accepted the deletion of {name} but still lists it after {timeout:.0f} s: "
                "try again in a moment."
            )
        time.sleep(0.2)
    return True


def recreate_topic(settings: KafkaSettings, topic: str, timeout: float = 30.0) -> None:
    """Delete ``topic`` and create it again, empty, with the lab's settings (bounded waits).

    This is what resetting a topic does to a consumer: every offset starts from 0 again, while a
    checkpoint still remembers the old, higher ones.
    """
    delete_topic(settings, topic, timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ensure_topic(settings, topic, timeout=timeout)  # returns once its partitions serve
            return
        except LabError:  # "marked for deletion" for a moment after the delete
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def topic_timestamp_type(settings: KafkaSettings, name: str = TOPIC, timeout: float = 15.0) -> str:
    """The topic's ``message.timestamp.type`` (``LogAppendTime`` for the lab's topic)."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    admin = admin_client(settings)
    configs = admin.describe_configs([resource])[resource].result(timeout=timeout)
    return configs["message.timestamp.type"].value


# --- Offsets --------------------------------------------------------------------------------------
def topic_offsets(
    settings: KafkaSettings, topic: str, timeout: float = 10.0
) -> dict[int, tuple[int, int]]:
    """Partition → (first offset still kept, end offset) from the broker: its *watermarks*.

    The end offset ("high watermark") is the offset the next record will get, so a partition
    holds ``end - first`` records.
    """
    consumer = offsets_consumer(settings, "streaming-lab-offset-probe")
    try:
        described = consumer.list_topics(topic=topic, timeout=timeout).topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            raise LabError(f"Topic {topic} does not exist on {settings.bootstrap_servers}.")
        return {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)
            for partition in sorted(described.partitions)
        }
    finally:
        consumer.close()


def topic_end_offsets(settings: KafkaSettings, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """Partition → end offset (the offset the next record will get)."""
    return {p: end for p, (_, end) in topic_offsets(settings, topic, timeout).items()}


def consumer_lag(settings: KafkaSettings, topic: str, checkpoint: str | Path) -> dict[int, int]:
    """Partition → records on the topic that the query has not committed yet.

    Lag = the topic's end offset − the query's committed offset (from its checkpoint). Spark's
    Kafka source does not commit offsets to a consumer group, so Kafka's own lag tools do not
    see a Structured Streaming query: its position lives in the checkpoint.
    """
    committed = committed_offsets(checkpoint)
    return {
        partition: end - committed.get(partition, first)
        for partition, (first, end) in topic_offsets(settings, topic).items()
    }


def read_to_end(settings: KafkaSettings, topic: str, timeout: float = 30.0) -> Iterator[Message]:
    """Every record ``topic`` holds now, partition by partition from its first offset to its end.

    Records produced after the call are not read; a read that takes longer than ``timeout``
    seconds stops early. Raises :class:`LabError` when the topic does not exist.
    """
    held = {
        p: (first, end) for p, (first, end) in topic_offsets(settings, topic).items() if end > first
    }
    if not held:
        return
    ends = {p: end for p, (_, end) in held.items()}
    consumer = offsets_consumer(settings, "streaming-lab-reader")
    try:
        consumer.assign([TopicPartition(topic, p, first) for p, (first, _) in held.items()])
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=0.5):
                if message.error() is not None:
                    continue
                if message.offset() < ends.get(message.partition(), 0):
                    yield message
                if message.offset() >= ends.get(message.partition(), 0) - 1:
                    ends.pop(message.partition(), None)
    finally:
        consumer.close()


def starting_offsets_json(topic: str, offsets: Mapping[int, int]) -> str:
    """``startingOffsets`` for Spark's Kafka source that starts each partition at ``offsets``."""
    return json.dumps({topic: {str(p): int(o) for p, o in sorted(offsets.items())}})
