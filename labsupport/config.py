"""Every setting, path and name the lab uses, in one place.

Defaults follow the original design (topic ``order-events`` with 3 partitions, 5 events/s,
a 10-minute watermark, 5-minute windows, a 30-second trigger, at most 10,000 offsets per
trigger). Environment variables override them, so the same code runs on the embedded broker,
on docker compose, or on a managed cluster with SASL credentials that never touch the source.

>>> KafkaSettings(bootstrap_servers="127.0.0.1:9092").client_config()
{'bootstrap.servers': '127.0.0.1:9092'}
>>> WINDOW_DURATION, WATERMARK_DELAY
('5 minutes', '10 minutes')
>>> LabPaths.under("/tmp/lab").checkpoint("gold")
'/tmp/lab/checkpoints/gold'
>>> mask_secrets({"sasl.username": "KEY", "sasl.password": "s3cret"})
{'sasl.username': 'KEY', 'sasl.password': '****'}
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from labsupport.durations import spark_interval
from labsupport.env import env_choice, env_duration, env_int, env_trigger
from labsupport.errors import LabError

__all__ = [
    "BROKER_HOME",
    "BRONZE_TABLE",
    "CATALOGUE_FILE",
    "CHECKPOINT_ROOT",
    "DATA_DIR",
    "DEFAULT_BROKER_PORT",
    "DEFAULT_CHECKPOINT_ROOT",
    "DEFAULT_DELTA_ROOT",
    "DEFAULT_LESSONS_DIR",
    "DELTA_ROOT",
    "DRIVER_MEMORY",
    "EVENTS_PER_SECOND",
    "FUTURE_TOLERANCE",
    "GOLD_TABLE",
    "KAFKA_FETCH_MAX_WAIT_MS",
    "MAX_OFFSETS_PER_TRIGGER",
    "PROJECT_ROOT",
    "QUARANTINE_TABLE",
    "RUNTIME_DIR",
    "SCENARIOS_DIR",
    "SECURITY_PROTOCOLS",
    "STARTING_OFFSETS",
    "TOPIC",
    "TOPIC_PARTITIONS",
    "TRIGGER_INTERVAL",
    "WATERMARK",
    "WATERMARK_DELAY",
    "WINDOW",
    "WINDOW_DURATION",
    "KafkaSettings",
    "LabPaths",
    "mask_secrets",
    "min_in_sync_replicas",
]

# --- Where things live -------------------------------------------------------------------------
#: The git checkout. ``LAB_HOME`` overrides it (for a lab installed elsewhere).
PROJECT_ROOT: Path = Path(os.environ.get("LAB_HOME") or Path(__file__).resolve().parents[1])
#: Runtime state that is not a lesson's output: jar cache, Ivy cache, broker data and logs.
RUNTIME_DIR: Path = PROJECT_ROOT / ".lab"
#: Shipped data: the product catalogue and the recorded scenarios.
DATA_DIR: Path = PROJECT_ROOT / "data"
SCENARIOS_DIR: Path = DATA_DIR / "scenarios"
CATALOGUE_FILE: Path = DATA_DIR / "products.csv"
#: The embedded broker's home (its data in ``data/``, its log and pid file beside it).
BROKER_HOME: Path = RUNTIME_DIR / "broker"
#: Every lesson's workspace, one folder per lesson, unless ``LAB_LESSONS_DIR`` says otherwise.
DEFAULT_LESSONS_DIR: Path = RUNTIME_DIR / "lessons"
#: Delta tables and streaming checkpoints, as the design lays them out (``./delta``, ``./checkpoints``).
DEFAULT_DELTA_ROOT: Path = PROJECT_ROOT / "delta"
DEFAULT_CHECKPOINT_ROOT: Path = PROJECT_ROOT / "checkpoints"
DELTA_ROOT: Path = Path(os.environ.get("LAB_DELTA_ROOT") or DEFAULT_DELTA_ROOT).expanduser()
CHECKPOINT_ROOT: Path = Path(
    os.environ.get("LAB_CHECKPOINT_ROOT") or DEFAULT_CHECKPOINT_ROOT
).expanduser()
#: Table locations relative to a Delta root.
BRONZE_TABLE = "bronze/order_events"
QUARANTINE_TABLE = "bronze/order_events_quarantine"
GOLD_TABLE = "gold/order_revenue_windows"

# --- Kafka ---------------------------------------------------------------------------------------
TOPIC: str = os.environ.get("KAFKA_TOPIC", "order-events")
TOPIC_PARTITIONS = 3
DEFAULT_BROKER_PORT = 9092
#: How long Spark's Kafka consumer lets the broker hold an empty fetch (see ``spark_options``).
KAFKA_FETCH_MAX_WAIT_MS = 50

# --- The design's behaviour --------------------------------------------------------------------
EVENTS_PER_SECOND = 5.0
#: Spark's driver heap unless ``LAB_DRIVER_MEMORY`` says otherwise (lessons 04–06 pass with 1g too).
DRIVER_MEMORY = "2g"
#: Gold's tumbling event-time window and how far the watermark trails the newest event time.
WINDOW = timedelta(minutes=5)
WATERMARK = timedelta(minutes=10)
#: The same two durations as the interval text Spark's ``window``/``withWatermark`` take.
WINDOW_DURATION: str = spark_interval(WINDOW)
WATERMARK_DELAY: str = spark_interval(WATERMARK)
#: How far an event's time may lie ahead of the broker's receipt time (``kafka_ingest_ts``)
#: before the event is quarantined: a producer clock that runs ahead must not drag Gold's
#: watermark into the future (lesson 04). ``LAB_FUTURE_TOLERANCE`` changes it.
FUTURE_TOLERANCE = timedelta(
    milliseconds=round(1000 * env_duration("LAB_FUTURE_TOLERANCE", "5 minutes"))
)  # whole milliseconds, as Spark's intervals
TRIGGER_INTERVAL: str = env_trigger("LAB_TRIGGER", "30 seconds")
MAX_OFFSETS_PER_TRIGGER: int = env_int("LAB_MAX_OFFSETS_PER_TRIGGER", 10_000, minimum=1)
#: The lab reads from the earliest offset on a query's first run, so nothing produced before
#: the job started is missed; the design's ``latest`` silently skips those events.
STARTING_OFFSETS: str = env_choice("LAB_STARTING_OFFSETS", "earliest", ("earliest", "latest"))

_SECRET_KEY = re.compile(r"password|secret", re.IGNORECASE)
#: greedy up to the last quote: a password may itself contain quotes (over-masking is safe)
_JAAS_PASSWORD = re.compile(r'(password=)".*"', re.DOTALL)

#: What ``KAFKA_SECURITY_PROTOCOL`` may say (Kafka's own names).
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_SASL_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


@dataclass(frozen=True)
class LabPaths:
    """Where one pipeline keeps its tables and checkpoints (the design's ``./delta``, ``./checkpoints``)."""

    delta_root: Path = DELTA_ROOT
    checkpoint_root: Path = CHECKPOINT_ROOT

    @classmethod
    def under(cls, root: Path | str) -> LabPaths:
        """Tables in ``root/delta``, checkpoints in ``root/checkpoints``: a pipeline of its own."""
        return cls(Path(root) / "delta", Path(root) / "checkpoints")

    @property
    def bronze(self) -> str:
        return str(Path(self.delta_root) / BRONZE_TABLE)

    @property
    def quarantine(self) -> str:
        return str(Path(self.delta_root) / QUARANTINE_TABLE)

    @property
    def gold(self) -> str:
        return str(Path(self.delta_root) / GOLD_TABLE)

    def checkpoint(self, query: str) -> str:
        return str(Path(self.checkpoint_root) / query)


@dataclass(frozen=True)
class KafkaSettings:
    """How to reach a Kafka cluster: the embedded broker, docker compose, or a managed one.

    Credentials come from the environment only and are never printed (``repr`` hides them).
    The same settings feed confluent-kafka (:meth:`client_config`) and Spark's Kafka source
    (:meth:`spark_options`), so producer and pipeline always talk to the same cluster.
    """

    bootstrap_servers: str
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = field(default=None, repr=False)
    sasl_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, bootstrap_servers: str | None = None) -> KafkaSettings:
        """Settings from ``KAFKA_*`` variables; the embedded broker's address by default.

        Credentials over a protocol that sends none (``PLAINTEXT``, ``SSL``) are a warning on
        stderr, once: the cluster would see no login at all.
        """
        env = os.environ
        username = env.get("KAFKA_SASL_USERNAME") or None
        if env.get("KAFKA_SASL_PASSWORD") and not username:
            raise LabError(
                "KAFKA_SASL_PASSWORD is set without KAFKA_SASL_USERNAME: set both, or neither."
            )
        # Kafka's clients read both names in any case (sasl_ssl, scram-sha-512)
        protocol = env_choice("KAFKA_SECURITY_PROTOCOL", None, SECURITY_PROTOCOLS, upper=True)
        mechanism = env_choice("KAFKA_SASL_MECHANISM", None, tuple(_SASL_LOGIN_MODULES), upper=True)
        if username and protocol in ("PLAINTEXT", "SSL"):
            _warn_once(
                f"warning: KAFKA_SASL_USERNAME is set but KAFKA_SECURITY_PROTOCOL={protocol} sends "
                "no credentials: use SASL_PLAINTEXT or SASL_SSL, or unset the username."
            )
        return cls(
            bootstrap_servers=bootstrap_servers
            or env.get("KAFKA_BOOTSTRAP_SERVERS")
            or f"127.0.0.1:{DEFAULT_BROKER_PORT}",
            security_protocol=protocol or ("SASL_SSL" if username else None),
            sasl_mechanism=mechanism or ("PLAIN" if username else None),
            sasl_username=username,
            sasl_password=env.get("KAFKA_SASL_PASSWORD"),
        )

    @property
    def sends_credentials(self) -> bool:
        """True when the protocol is a SASL one and a username is set."""
        return self.sasl_username is not None and (self.security_protocol or "").startswith("SASL_")

    @staticmethod
    def external_cluster_configured() -> bool:
        """True when ``KAFKA_BOOTSTRAP_SERVERS`` names a cluster, so the lab starts no broker."""
        return bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))

    def client_config(self) -> dict[str, str]:
        """Configuration for confluent-kafka producers, consumers and admin clients."""
        config = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol:
            config["security.protocol"] = self.security_protocol
        if self.sasl_mechanism and self.sends_credentials:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sends_credentials:
            config["sasl.username"] = self.sasl_username  # type: ignore[assignment]
            config["sasl.password"] = self.sasl_password or ""
        return config

    def spark_options(self) -> dict[str, str]:
        """Options for ``spark.readStream.format("kafka")`` (the ``kafka.`` prefixed ones).

        ``fetch.max.wait.ms``: Spark's consumer ends each partition's read with a fetch that finds
        no new bytes, and the broker holds such a fetch for this long (Kafka's default 500 ms).
        On the lab's small topics that wait was most of a micro-batch's Kafka read (1.35 s →
        0.45 s for 200 records on 3 partitions, measured); 50 ms costs a busy cluster nothing.
        """
        options = {
            "kafka.bootstrap.servers": self.bootstrap_servers,
            "kafka.fetch.max.wait.ms": str(KAFKA_FETCH_MAX_WAIT_MS),
        }
        if self.security_protocol:
            options["kafka.security.protocol"] = self.security_protocol
        if self.sasl_mechanism and self.sends_credentials:
            options["kafka.sasl.mechanism"] = self.sasl_mechanism
        if self.sends_credentials:
            options["kafka.sasl.jaas.config"] = jaas_config(
                self.sasl_mechanism or "PLAIN", self.sasl_username or "", self.sasl_password or ""
            )
        return options


def jaas_quote(value: str) -> str:
    r"""``value`` as a quoted JAAS string that Kafka's parser reads back exactly.

    Kafka parses ``sasl.jaas.config`` with Java's ``StreamTokenizer``: inside quotes a backslash
    escapes the next character and a line break ends the string. So ``\`` and ``"`` are
    escaped, and line breaks written as ``\n``/``\r`` — or a password with a quote in it
    would end early and the rest would be read as further options.

    >>> print(jaas_quote('a"b\\c'))
    "a\"b\\c"
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def jaas_config(mechanism: str, username: str, password: str, **extra: str) -> str:
    """The ``sasl.jaas.config`` line for ``mechanism`` with every value quoted safely.

    ``extra`` adds options (the embedded broker's ``user_<name>`` for PLAIN).
    """
    module = _SASL_LOGIN_MODULES.get(mechanism.upper())
    if module is None:
        raise LabError(
            f"KAFKA_SASL_MECHANISM={mechanism} is not supported by the lab: "
            f"use one of {', '.join(_SASL_LOGIN_MODULES)}."
        )
    options = {"username": username, "password": password, **extra}
    return (
        f"{module} required " + " ".join(f"{k}={jaas_quote(v)}" for k, v in options.items()) + ";"
    )


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Print a one-line warning on stderr, once per process."""
    if message not in _warned:
        _warned.add(message)
        print(message, file=sys.stderr)


def mask_secrets(config: Mapping[str, str]) -> dict[str, str]:
    """A copy of a client config or Spark options with every password replaced by ``****``.

    Keys naming a password or secret are masked whole; in a JAAS line only the ``password="…"``.
    """
    masked = {}
    for key, value in config.items():
        if _SECRET_KEY.search(key):
            masked[key] = "****"
        elif "jaas" in key:
            masked[key] = _JAAS_PASSWORD.sub(r'\1"****"', value)
        else:
            masked[key] = value
    return masked


def min_in_sync_replicas(replicas: int) -> int:
    """A write is acknowledged (``acks=all``) once this many copies have it: with 3, one broker
    may be lost and writes go on; alone, the one copy.

    >>> [min_in_sync_replicas(n) for n in (1, 3)]
    [1, 2]
    """
    return max(1, replicas - 1)
