"""Reaching Kafka: the idempotent producer's configuration, and a connection that checks the topic.

Delivery guarantees, as the lessons explain them:

- ``enable.idempotence`` with ``acks=all``: a retry after a lost acknowledgement never writes a
  record twice, and records of one partition stay in the order they were produced;
- the key is the ``order_id``, hashed with Kafka's own partitioner (murmur2, as Java clients and
  Spark do), so every event of an order lands on the same partition;
- a delivery callback counts every acknowledgement and failure (:mod:`producer.stats`), and the
  flush at the end (:mod:`producer.stopping`) waits for them, so nothing produced is silently lost.

>>> from labsupport.config import KafkaSettings
>>> config = producer_config(KafkaSettings(bootstrap_servers="127.0.0.1:9092"))
>>> config["enable.idempotence"], config["acks"], config["partitioner"]
(True, 'all', 'murmur2_random')
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, KafkaException, Producer

from labsupport.config import KafkaSettings
from labsupport.errors import LabError, is_login_failure, kafka_unreachable

__all__ = [
    "KAFKA_LOGGER",
    "MESSAGE_TIMEOUT_MS",
    "TOPIC_SETTLE_S",
    "ClientErrors",
    "connect_producer",
    "producer_config",
]

#: librdkafka's own log lines ("Connect to ... failed") are not for learners: the producer reports
#: problems itself, in one line. Attach a handler to this logger to see them when debugging.
KAFKA_LOGGER = logging.getLogger("producer.kafka")
KAFKA_LOGGER.addHandler(logging.NullHandler())
KAFKA_LOGGER.propagate = False

#: How long a record may wait for its acknowledgement before it counts as failed.
MESSAGE_TIMEOUT_MS = 30_000
#: How long a topic that was just created may take to appear in the broker's metadata.
TOPIC_SETTLE_S = 2.0


class ClientErrors:
    """Collects errors librdkafka reports outside a delivery (connection refused, auth failed)."""

    def __init__(self) -> None:
        self.last: KafkaError | None = None
        self.fatal: KafkaError | None = None
        self.connection: str | None = None

    def __call__(self, error: KafkaError) -> None:
        self.last = error
        if error.fatal():
            self.fatal = error
        text = error.str()
        if any(word in text for word in ("Connect to", "Authentication", "SASL", "SSL", "resolve")):
            self.connection = text  # the most useful line for a learner: why it cannot connect


def producer_config(settings: KafkaSettings, **overrides: object) -> dict:
    """The producer's configuration: idempotent, acks=all, Kafka's murmur2 partitioner, batching.

    Credentials come from ``settings.client_config()``; never print the result.
    """
    config: dict = settings.client_config()
    config.update(
        {
            "client.id": "streaming-lab-order-producer",
            "enable.idempotence": True,  # implies acks=all, retries, ordered per partition
            "acks": "all",
            "partitioner": "murmur2_random",  # the Java client's hash of the key
            "linger.ms": 20,  # wait up to 20 ms to fill a batch: big batches, cheap at high rates
            "batch.num.messages": 10_000,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 500_000,
            "message.timeout.ms": MESSAGE_TIMEOUT_MS,
            "logger": KAFKA_LOGGER,
        }
    )
    config.update(overrides)
    return config


def connect_producer(
    settings: KafkaSettings, topic: str, *, timeout: float = 10.0, **overrides: object
) -> tuple[Producer, ClientErrors]:
    """A producer that has reached the cluster and found ``topic``; a LabError within ``timeout`` if not."""
    errors = ClientErrors()
    try:
        producer = Producer(producer_config(settings, error_cb=errors, **overrides))
    except KafkaException as error:
        raise LabError(f"Invalid Kafka settings: {error.args[0].str()}") from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = producer.list_topics(topic=topic, timeout=min(1.0, timeout))
            break
        except KafkaException as error:
            # serve the error callbacks: they say why (refused, unknown host, auth)
            producer.poll(0)
            detail = errors.connection or (errors.last or error.args[0]).str()
            # a refused login will not pass by waiting: say so now
            if is_login_failure(detail) or time.monotonic() >= deadline:
                raise kafka_unreachable(settings.bootstrap_servers, detail, timeout) from None
    found = metadata.topics.get(topic)
    settle_by = time.monotonic() + min(timeout, TOPIC_SETTLE_S)
    while (found is None or found.error is not None) and time.monotonic() < settle_by:
        time.sleep(0.2)  # a topic created a moment ago may not be in every broker's metadata yet
        try:
            found = producer.list_topics(topic=topic, timeout=timeout).topics.get(topic)
        except KafkaException:
            break
    if found is None or found.error is not None:
        if found is None or found.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise LabError(
                f"Topic {topic} does not exist on {settings.bootstrap_servers}: create it with "
                f"`make start` or `python -m labsupport topic create --name {topic}`."
            )
        raise LabError(f"Topic {topic} on {settings.bootstrap_servers}: {found.error.str()}")
    return producer, errors
