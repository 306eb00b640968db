"""The lab's own Kafka broker: real Apache Kafka, KRaft, one node, started from Maven jars.

No Docker needed. ``EmbeddedBroker(port=9092).start()`` formats the storage on first use, starts
one JVM that is both broker and controller, and returns only once the broker answers requests.
Start is idempotent, stop is clean (SIGTERM, then wait), and a stale pid file or a port taken by
another program is reported in one line instead of a hang.

>>> EmbeddedBroker(port=9092).bootstrap_servers
'127.0.0.1:9092'
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from labsupport.broker_login import (
    SaslUser,
    add_scram_user,
    sasl_environment,
    sasl_listener_settings,
)
from labsupport.config import (
    BROKER_HOME,
    DEFAULT_BROKER_PORT,
    TOPIC_PARTITIONS,
    KafkaSettings,
    min_in_sync_replicas,
)
from labsupport.errors import LabError, is_login_failure
from labsupport.jars import ensure_jars
from labsupport.java import FAST_START_OPTIONS, require_java
from labsupport.net import port_open
from labsupport.processes import alive, is_this_kafka

__all__ = ["BrokerStatus", "EmbeddedBroker", "new_cluster_id"]

#: Heap for a 2-core, small-memory machine: the lab's traffic is tiny.
BROKER_HEAP = ["-Xms256m", "-Xmx768m"]
#: Seconds formatting a new data folder may take (a JVM start and a few files: ~2 s here).
FORMAT_TIMEOUT = 120


@dataclass(frozen=True)
class BrokerStatus:
    """What ``broker status`` reports."""

    running: bool
    bootstrap_servers: str
    pid: int | None
    home: Path
    sasl: bool = False

    def __str__(self) -> str:
        if self.running:
            login = ", SASL_PLAINTEXT: PLAIN and SCRAM-SHA-512" if self.sasl else ""
            return (
                f"Kafka broker running at {self.bootstrap_servers} "
                f"(pid {self.pid}{login}, data in {self.home})"
            )
        return f"Kafka broker not running (would listen on {self.bootstrap_servers}, data in {self.home})"


def new_cluster_id() -> str:
    """A random KRaft cluster id, as ``kafka-storage random-uuid`` makes one.

    Like Kafka's own ``Uuid.randomUuid``, it never starts with ``-``: the storage tool's argument
    parser would read such an id as an option (1 in 64 ids, and a broker that fails to start).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass
class EmbeddedBroker:
    """A KRaft Kafka node (broker and controller) whose data, logs and pid file live under ``home``.

    Alone by default: one node, its own quorum. A node of a cluster (:mod:`labsupport.cluster`)
    has its ``node_id``, the cluster's ``voters`` and ``cluster_id``, and ``replicas`` copies of
    each partition by default. With ``sasl``, its one client listener is ``SASL_PLAINTEXT``
    (loopback only) and accepts that user with PLAIN and SCRAM-SHA-512.
    """

    port: int = DEFAULT_BROKER_PORT
    home: Path = field(default_factory=lambda: BROKER_HOME)
    controller_port: int | None = None
    sasl: SaslUser | None = None
    node_id: int = 1
    voters: str | None = None  #: ``controller.quorum.voters``; None: this node alone
    cluster_id: str | None = None  #: shared by a cluster's nodes; None: a new one at format
    replicas: int = 1  #: the default replication factor (of the internal topics too)

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        if self.controller_port is None:
            self.controller_port = self.port + 1

    @property
    def client_settings(self) -> KafkaSettings:
        """How a client reaches this broker (logging in as the SASL user when there is one)."""
        if self.sasl is None:
            return KafkaSettings(bootstrap_servers=self.bootstrap_servers)
        return self.sasl.settings(self.bootstrap_servers)

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"

    @property
    def _pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def _data_dir(self) -> Path:
        return self.home / "data"

    # --- lifecycle ------------------------------------------------------------------------------
    @contextmanager
    def _exclusive(self, timeout: float) -> Iterator[None]:
        """One start or stop at a time per broker home (two at once could lose track of one)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / "broker.lock").open("w") as lock:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LabError(
                            f"Another start or stop of the broker in {self.home} has not finished "
                            f"within {timeout:.0f} s: wait for it, then try again."
                        ) from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def start(self, timeout: float = 60.0, *, wait: bool = True) -> str:
        """Start the broker (or find it running) and return its bootstrap address.

        Two starts at once (two terminals, two kernels) take turns: the second finds the first's
        broker running. A cluster's node answers only once a majority of its quorum runs, so a
        cluster launches every node with ``wait=False``, then waits (:meth:`wait_until_ready`).
        """
        ensure_jars("broker")  # a first download may take minutes: not while holding the lock
        with self._exclusive(timeout + FORMAT_TIMEOUT):
            return self._start(timeout, wait)

    def _start(self, timeout: float, wait: bool = True) -> str:
        pid = self._running_pid()
        if pid is not None:
            running = json.loads(self._pid_file.read_text())
            running_port = running.get("port")
            if running_port != self.port:
                raise LabError(
                    f"The lab's broker already runs on port {running_port} (pid {pid}): stop it first "
                    f"(`python -m labsupport broker stop`) to start it on port {self.port}."
                )
            # `make start` after `broker start --sasl`: log in as the clients do
            if running.get("sasl") and self.sasl is None:
                self.sasl = SaslUser.from_env(running_pid=pid)
            elif not running.get("sasl") and self.sasl is not None:
                raise LabError(
                    f"The lab's broker already runs without SASL (pid {pid}): stop it first "
                    "(`python -m labsupport broker stop`), then start it with --sasl."
                )
            if not wait or self._accepts_requests(timeout=5):
                return self.bootstrap_servers
            raise LabError(
                f"The lab's broker (pid {pid}) runs but does not answer on {self.bootstrap_servers}: "
                f"see {self.log_file}, or `python -m labsupport broker stop` and start again."
            )
        for port in (self.port, self.controller_port):
            if port_open("127.0.0.1", port):
                raise LabError(
                    f"Port {port} is already in use by another program: stop it, or use another port "
                    f"(`python -m labsupport broker start --port {self.port + 10}` and "
                    f"KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{self.port + 10})."
                )
        java = require_java()
        classpath = os.pathsep.join(str(jar) for jar in ensure_jars("broker"))
        properties = self._write_config()
        environment = self._environment()
        if not (self._data_dir / "meta.properties").exists():
            self._format_storage(java, classpath, properties, environment)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with (self.home / "logs" / "stdout.log").open("ab") as out:
            process = subprocess.Popen(
                [
                    java,
                    *BROKER_HEAP,
                    *self._jvm_flags(),
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(properties),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,  # Ctrl-C in the learner's terminal must not kill the broker
            )
        self._pid_file.write_text(
            json.dumps({"pid": process.pid, "port": self.port, "sasl": self.sasl is not None})
        )
        if wait:
            self._wait_until_ready(timeout)
        return self.bootstrap_servers

    def wait_until_ready(self, timeout: float = 60.0) -> str:
        """Wait until the running broker answers requests (stopped, with a one-line error, if not)."""
        with self._exclusive(timeout):
            self._wait_until_ready(timeout)
        return self.bootstrap_servers

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._running_pid() is None:
                raise LabError(f"The Kafka broker exited during start: see {self.log_file}.")
            if self._accepts_requests(timeout=2):
                self._add_scram_user()
                return
            time.sleep(0.3)
        self._stop(timeout=30)
        raise LabError(
            f"The Kafka broker did not answer within {timeout:.0f} s: see {self.log_file}."
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker cleanly (SIGKILL after ``timeout`` s); False when it was not running."""
        with self._exclusive(timeout + 60):
            return self._stop(timeout)

    def _stop(self, timeout: float) -> bool:
        pid = self._running_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.2)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(pid):
                raise LabError(
                    f"The Kafka broker (pid {pid}) did not end even after SIGKILL: "
                    "check `ps` for it, and your machine's load."
                )
        self._pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> BrokerStatus:
        pid = self._running_pid()
        if pid is None:
            return BrokerStatus(False, self.bootstrap_servers, None, self.home)
        running = json.loads(self._pid_file.read_text())
        port = running.get("port", self.port)
        return BrokerStatus(True, f"127.0.0.1:{port}", pid, self.home, bool(running.get("sasl")))

    # --- helpers --------------------------------------------------------------------------------
    def _running_pid(self) -> int | None:
        """The broker's pid if it is alive; a stale pid file is removed."""
        if not self._pid_file.exists():
            return None
        try:
            pid = int(json.loads(self._pid_file.read_text())["pid"])
        except (ValueError, KeyError, json.JSONDecodeError):
            self._pid_file.unlink(missing_ok=True)
            return None
        if alive(pid) and is_this_kafka(pid, self.home):
            return pid
        self._pid_file.unlink(missing_ok=True)  # stale: the process is gone or is someone else
        return None

    def _accepts_requests(self, timeout: float) -> bool:
        """True when the broker answers a metadata request (logged in, when SASL).

        A refused login is not "not ready yet": it is a one-line :class:`LabError` at once.
        """
        from labsupport.topics import list_cluster_topics  # confluent-kafka loads only when needed

        if not port_open("127.0.0.1", self.port):
            return False
        try:
            list_cluster_topics(self.client_settings, timeout)
            return True
        except LabError as error:
            if is_login_failure(str(error)):
                raise LabError(
                    f"The lab's broker on port {self.port} runs with SASL and refused this login: "
                    "export the KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD it was started with, or "
                    "`python -m labsupport broker stop`, then `broker start --sasl` again."
                ) from None
            return False

    def _environment(self) -> dict[str, str]:
        """The broker JVM's environment, with the PLAIN login when SASL (see broker_login)."""
        return {**os.environ, **(sasl_environment(self.sasl) if self.sasl else {})}

    def _add_scram_user(self) -> None:
        """The SCRAM credential, or a one-line error and no half-configured broker left running."""
        if self.sasl is not None:
            try:
                add_scram_user(self.sasl, self.client_settings)
            except LabError:
                self._stop(timeout=30)
                raise

    def _jvm_flags(self) -> list[str]:
        return [
            "-XX:+UseG1GC",
            *FAST_START_OPTIONS,  # the lab's traffic never needs C2
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self._write_log_config()}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            # Kafka 4 resolves ${env:...} in its config only with providers it is told to trust
            "-Dorg.apache.kafka.automatic.config.providers="
            "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
        ]

    def _write_config(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / "server.properties"
        in_sync = min_in_sync_replicas(self.replicas)
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters
            or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self._data_dir),
            "num.partitions": str(TOPIC_PARTITIONS),
            "default.replication.factor": str(self.replicas),
            "offsets.topic.replication.factor": str(self.replicas),
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": str(self.replicas),
            "transaction.state.log.min.isr": str(in_sync),
            "share.coordinator.state.topic.replication.factor": str(self.replicas),
            "share.coordinator.state.topic.min.isr": str(in_sync),
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",  # a typo in a topic name is an error, not a new topic
            "log.retention.hours": "168",
        }
        if self.replicas > 1:  # a cluster's node (alone, Kafka's default of 1 is the one copy)
            settings["min.insync.replicas"] = str(in_sync)
        if self.sasl is not None:
            settings |= sasl_listener_settings(self.port, self.controller_port)  # type: ignore[arg-type]
        path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return path

    def _write_log_config(self) -> Path:
        path = self.home / "log4j2.properties"
        path.write_text(
            "\n".join(
                [
                    "appender.file.type = File",
                    "appender.file.name = file",
                    f"appender.file.fileName = {self.log_file}",
                    "appender.file.layout.type = PatternLayout",
                    "appender.file.layout.pattern = [%d] %p %m (%c)%n",
                    "rootLogger.level = INFO",
                    "rootLogger.appenderRef.file.ref = file",
                    "logger.kafka.name = kafka",
                    "logger.kafka.level = INFO",
                    "logger.state.name = state.change.logger",
                    "logger.state.level = WARN",
                    "",
                ]
            )
        )
        return path

    def _format_storage(
        self, java: str, classpath: str, properties: Path, environment: dict[str, str]
    ) -> None:
        """``kafka-storage.sh format`` for a new data folder: KRaft needs a cluster id first."""
        cluster_id = self.cluster_id or new_cluster_id()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = [java, *self._jvm_flags(), "-cp", classpath, "kafka.tools.StorageTool"]
        try:
            result = subprocess.run(
                [
                    *command,
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(properties),
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=FORMAT_TIMEOUT,
                env=environment,
            )
        except subprocess.TimeoutExpired:
            raise LabError(
                f"Formatting the broker storage in {self._data_dir} took over {FORMAT_TIMEOUT} s: "
                "check the disk and the machine's load, then start again."
            ) from None
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise LabError(f"Formatting the broker storage in {self._data_dir} failed: {detail[0]}")
