"""The testcontainers path to a real Kafka: the official apache/kafka image, started as conftest does.

The round trip needs a Docker engine and is skipped, with the reason, where none answers. The other
tests need no engine (the Docker client is replaced by a stand-in): they pin down why the lab does
not use testcontainers' stock ``KafkaContainer(...).with_kraft()`` and what it does instead.
"""

from __future__ import annotations

import time
import uuid
from unittest import mock

import pytest
from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Producer
from testcontainers.community.kafka import KafkaContainer

from labsupport.config import TOPIC_PARTITIONS, KafkaSettings
from labsupport.topics import TOPIC_CONFIG, ensure_topic, topic_timestamp_type
from tests.conftest import docker_engine_answers
from tests.kafka_container import APACHE_KAFKA_IMAGE, APACHE_KAFKA_RUN, ApacheKafkaContainer

NO_DOCKER = "no Docker engine answers a ping (testcontainers needs one)"


def listeners(value: str) -> dict[str, int]:
    return {item.split("://")[0]: int(item.rsplit(":", 1)[1]) for item in value.split(",")}


@pytest.fixture
def no_engine():
    """Build containers without a Docker engine: their client is a stand-in, nothing starts."""
    with mock.patch("testcontainers.core.container.DockerClient"):
        yield


# --- with a Docker engine --------------------------------------------------------------------------
@pytest.mark.kafka
@pytest.mark.skipif(not docker_engine_answers(), reason=NO_DOCKER)
def test_a_kafka_container_round_trips_a_message():
    with ApacheKafkaContainer(APACHE_KAFKA_IMAGE) as container:
        settings = KafkaSettings(bootstrap_servers=container.get_bootstrap_server())
        topic = f"tc-{uuid.uuid4().hex[:12]}"
        assert ensure_topic(settings, topic), "the topic is new in a new container"
        assert topic_timestamp_type(settings, topic) == TOPIC_CONFIG["message.timestamp.type"]

        producer = Producer(settings.client_config())
        producer.produce(topic, key=b"order-1", value=b'{"order_id": "order-1"}')
        assert producer.flush(15) == 0

        consumer = Consumer(
            {**settings.client_config(), "group.id": topic, "auto.offset.reset": "earliest"}
        )
        try:
            consumer.subscribe([topic])
            assert len(consumer.list_topics(topic, timeout=10).topics[topic].partitions) == (
                TOPIC_PARTITIONS
            )
            message, deadline = None, time.monotonic() + 30
            while message is None and time.monotonic() < deadline:
                candidate = consumer.poll(0.5)
                if candidate is not None and candidate.error() is None:
                    message = candidate
        finally:
            consumer.close()
        assert message is not None, "the message did not come back within 30 s"
        assert (message.key(), message.value()) == (b"order-1", b'{"order_id": "order-1"}')
        assert message.timestamp()[0] == TIMESTAMP_LOG_APPEND_TIME


# --- without one -----------------------------------------------------------------------------------
def test_the_stock_kafka_container_rejects_apache_kafka_in_kraft_mode(no_engine):
    """Why tests/kafka_container.py exists: this fails on testcontainers 4.15. Should an upgrade
    make it pass, ApacheKafkaContainer may no longer be needed."""
    with pytest.raises(ValueError, match="not supported in Kraft mode"):
        KafkaContainer(APACHE_KAFKA_IMAGE).with_kraft()


def test_the_container_is_configured_as_one_kraft_node(no_engine):
    container = ApacheKafkaContainer(APACHE_KAFKA_IMAGE)
    assert container.with_kraft() is container
    container.configure()
    env = container.env
    assert container.image.endswith(APACHE_KAFKA_IMAGE)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    bound = listeners(env["KAFKA_LISTENERS"])
    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(bound) == set(protocols)
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    node_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert node_id == env["KAFKA_NODE_ID"] and int(voter.rsplit(":", 1)[1]) == bound[controller]
    assert bound[container.listener_name] == container.port, (
        "the exposed port is the client listener"
    )
    assert str(container.port) in container.ports
    assert env["CLUSTER_ID"] and "KAFKA_BROKER_ID" not in env
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in bound
    assert not any("confluent" in str(value) for value in env.values())
    assert container.wait_for.search("[KafkaRaftServer nodeId=1] Kafka Server started")


def test_the_start_script_advertises_the_mapped_port_and_runs_the_image(no_engine):
    container = ApacheKafkaContainer(APACHE_KAFKA_IMAGE)
    container.configure()
    script = container.start_script("localhost", 32771)
    assert "/etc/confluent" not in script
    assert script.rstrip().splitlines()[-1] == f"exec {APACHE_KAFKA_RUN}"
    exported = next(line for line in script.splitlines() if "KAFKA_ADVERTISED_LISTENERS=" in line)
    advertised = exported.split("=", 1)[1]
    assert f"{container.listener_name}://localhost:32771" in advertised.split(",")
    bound = listeners(container.env["KAFKA_LISTENERS"])
    for item in advertised.split(","):
        name, port = item.split("://")[0], int(item.rsplit(":", 1)[1])
        if name != container.listener_name:  # the client listener is advertised on the mapped port
            assert bound[name] == port, f"{name} is advertised on a port it does not bind"
