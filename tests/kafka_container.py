"""testcontainers' ``KafkaContainer`` made to run the official ``apache/kafka`` image.

testcontainers 4.15 writes its ``KafkaContainer`` for Confluent's ``cp-kafka`` image, and two of
its steps break on ``apache/kafka``:

- ``with_kraft()`` compares the image tag with Confluent Platform's first KRaft release (7.0.0), so
  ``apache/kafka:4.1.1`` (Kafka's own version) is rejected as "not supported in Kraft mode";
- its start script runs ``/etc/confluent/docker/configure`` and ``launch``, which ``apache/kafka``
  does not have: the image starts with ``/etc/kafka/docker/run``, configured by ``KAFKA_*`` variables
  (``KAFKA_LISTENERS`` becomes ``listeners``, and so on).

:class:`ApacheKafkaContainer` keeps everything else (the exposed client port, the wait for
"Kafka Server started", :meth:`get_bootstrap_server`) and is always KRaft: one node that is broker
and controller, like the lab's embedded broker. As upstream does, the advertised address is written
only once the container runs, since the host port Docker maps is not known before.
"""

from __future__ import annotations

import re

from testcontainers.community.kafka import KafkaContainer
from typing_extensions import Self

from labsupport.versions import KAFKA_VERSION

__all__ = ["APACHE_KAFKA_IMAGE", "ApacheKafkaContainer"]

APACHE_KAFKA_IMAGE = f"apache/kafka:{KAFKA_VERSION}"
#: The image's own entry point (its CMD), which turns the ``KAFKA_*`` variables into a config.
APACHE_KAFKA_RUN = "/etc/kafka/docker/run"
CONTROLLER_PORT = 9094


class ApacheKafkaContainer(KafkaContainer):
    """A single-node KRaft broker from ``apache/kafka``, reachable from the host (needs Docker)::

    with ApacheKafkaContainer() as kafka:
        bootstrap_servers = kafka.get_bootstrap_server()  # e.g. 'localhost:32771'
    """

    def __init__(self, image: str = APACHE_KAFKA_IMAGE, **kwargs) -> None:
        super().__init__(image, **kwargs)
        self.kraft_enabled = True
        # KRaft names the node with node.id; cp-kafka's broker.id is not needed.
        self.env.pop("KAFKA_BROKER_ID", None)

    def with_kraft(self) -> Self:
        """Always KRaft already (Kafka 4 has no ZooKeeper mode); kept for the familiar API."""
        return self

    def configure(self) -> None:
        """Environment for ``/etc/kafka/docker/run``: one node that is broker and controller."""
        self.wait_for = re.compile(r".*Kafka Server started.*")
        self.with_env("CLUSTER_ID", self.cluster_id)
        self.with_env("KAFKA_NODE_ID", "1")
        self.with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        self.with_env("KAFKA_LISTENERS", f"{self.listeners},CONTROLLER://0.0.0.0:{CONTROLLER_PORT}")
        self.with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            f"{self.security_protocol_map},CONTROLLER:PLAINTEXT",
        )
        self.with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        self.with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", f"1@localhost:{CONTROLLER_PORT}")
        # One node: every internal topic gets one replica (the defaults of 3 would never be met).
        for setting in (
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR",
            "KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR",
        ):
            self.with_env(setting, "1")

    def start_script(self, host: str, port: int) -> str:
        """The script the container waits for: advertise the mapped address, then start Kafka."""
        advertised = f"{self.listener_name}://{host}:{port},BROKER://$(hostname):9092"
        return f"export KAFKA_ADVERTISED_LISTENERS={advertised}\nexec {APACHE_KAFKA_RUN}\n"

    def tc_start(self) -> None:
        host = self.get_container_host_ip()
        port = self.get_exposed_port(self.port)
        self.create_file(self.start_script(host, port).encode(), self.TC_START_SCRIPT)

    def start(self, timeout: int = 120) -> Self:
        """Start and wait for the broker (up to ``timeout`` seconds once the image is pulled)."""
        return super().start(timeout=timeout)
