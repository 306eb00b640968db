"""Sending to Kafka: the idempotent producer, rate pacing, delivery counting and the progress line.

Delivery guarantees, as the lessons explain them:

- ``enable.idempotence`` with ``acks=all``: a retry after a lost acknowledgement never writes a
  record twice, and records of one partition stay in the order they were produced;
- the key is the ``order_id``, hashed with Kafka's own partitioner (murmur2, as Java clients and
  Spark do), so every event of an order lands on the same partition;
- a delivery callback counts every acknowledgement and failure; ``flush`` runs at the end and on
  Ctrl-C, so nothing produced is silently lost.

Pacing is a token bucket on an absolute schedule: record *i* is due at ``start + i / rate``, and
the loop sends whatever is due in chunks, then serves callbacks. That keeps the average exact
from 1 event/s to tens of thousands per second without sleeping once per message.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from confluent_kafka import KafkaError, KafkaException, Producer

from labsupport.config import KafkaSettings
from labsupport.errors import LabError
from producer.feed import DEFAULT_CUSTOMERS, OrderFeed
from producer.modes import (
    BEYOND_WATERMARK,
    DEFAULT_LATENESS,
    DUPLICATE,
    LATE,
    MALFORMED,
    WATERMARK_SECONDS,
    TeachingModes,
    feed_records,
)
from producer.scenarios import Scenario, ScenarioRecord, load_scenario
from producer.timefmt import parse_duration, parse_timestamp

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "BackgroundRun",
    "ProduceStats",
    "connect_producer",
    "produce_events",
    "produce_in_background",
    "producer_config",
    "replay_scenario",
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
#: The most the producer sends at once before serving delivery callbacks again.
MAX_CHUNK = 2_000
#: After a stall (a busy machine) the producer catches up at most this much, not in one burst.
MAX_CATCH_UP_S = 2.0


@dataclass
class ProduceStats:
    """What a producer run did; ``rate`` is the achieved rate in records per second.

    ``sent`` counts every record handed to Kafka, duplicates and malformed records included;
    ``late``, ``duplicates`` and ``malformed`` count the teaching modes' records among them.
    """

    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    late: int = 0
    duplicates: int = 0
    malformed: int = 0
    elapsed_s: float = 0.0
    #: late records set back by more than the watermark delay (10 minutes)
    late_beyond_watermark: int = 0
    target_rate: float | None = None
    interrupted: bool = False
    last_error: str | None = None
    flushing: bool = field(default=False, repr=False)

    @property
    def rate(self) -> float:
        """Records sent per second of sending."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def pending(self) -> int:
        """Records sent but neither acknowledged nor failed yet."""
        return self.sent - self.acknowledged - self.failed

    def on_delivery(self, error: KafkaError | None, _message: object) -> None:
        """The delivery callback: librdkafka calls it once per record, from ``poll``/``flush``."""
        if error is None:
            self.acknowledged += 1
        else:
            self.failed += 1
            self.last_error = error.str()

    def line(self, *, modes: bool = True) -> str:
        """The progress line: counts, actual vs target rate, elapsed time."""
        rate = f"{self.rate:,.1f}/s"
        if self.target_rate:
            rate += f" (target {self.target_rate:,.6g})"
        parts = [
            f"sent {self.sent:,}",
            f"acknowledged {self.acknowledged:,}",
            f"failed {self.failed:,}",
            rate,
        ]
        if modes and self.late:
            beyond = f"{self.late_beyond_watermark:,} > {WATERMARK_SECONDS / 60:g} min"
            parts.append(f"late {self.late:,} ({beyond})")
        if modes and self.duplicates:
            parts.append(f"duplicates {self.duplicates:,}")
        if modes and self.malformed:
            parts.append(f"malformed {self.malformed:,}")
        parts.append(f"{self.elapsed_s:,.1f} s")
        if self.flushing:
            parts.append(f"flushing {self.pending:,}…")
        if self.failed and self.last_error:
            parts.append(f"last error: {self.last_error}")
        return " · ".join(parts)

    def _count(self, tags: int) -> None:
        if tags & LATE:
            self.late += 1
            if tags & BEYOND_WATERMARK:
                self.late_beyond_watermark += 1
        if tags & DUPLICATE:
            self.duplicates += 1
        if tags & MALFORMED:
            self.malformed += 1


class _ClientErrors:
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
) -> tuple[Producer, _ClientErrors]:
    """A producer that has reached the cluster and found ``topic``; a LabError within ``timeout`` if not."""
    errors = _ClientErrors()
    try:
        producer = Producer(producer_config(settings, error_cb=errors, **overrides))
    except KafkaException as error:
        raise LabError(f"Invalid Kafka settings: {error.args[0].str()}") from None
    try:
        metadata = producer.list_topics(topic=topic, timeout=timeout)
    except KafkaException as error:
        producer.poll(0)  # serve the error callbacks: they say why (refused, unknown host, auth)
        detail = errors.connection or (errors.last or error.args[0]).str()
        raise LabError(
            f"Kafka at {settings.bootstrap_servers} did not answer within {timeout:g} s "
            f"({detail}): start it with `make start`, "
            "or check KAFKA_BOOTSTRAP_SERVERS."
        ) from None
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


class _StopRequests:
    """While a run lasts, Ctrl-C (SIGINT) and SIGTERM ask it to stop; they do not raise.

    An exception raised by a signal handler inside librdkafka's ``poll``/``flush`` surfaces as a
    ``SystemError`` instead of a ``KeyboardInterrupt``, so the handler only counts the request and
    the loop, which polls at most 0.1 s at a time, stops and flushes. A second request also cuts the
    flush short. Only the main thread may set handlers; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, object] = {}

    def _request(self, signum: int, frame: object) -> None:
        self.count += 1

    def __enter__(self) -> _StopRequests:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._request)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _settle(
    producer: Producer, stats: ProduceStats, timeout: float, stop: _StopRequests | None = None
) -> None:
    """Flush: wait for every acknowledgement; what is still unanswered after ``timeout`` is failed."""
    stats.flushing = True
    deadline = time.monotonic() + timeout
    while len(producer) and time.monotonic() < deadline:
        if stop is not None and stop.count > 1:  # Ctrl-C again: stop waiting
            break
        producer.flush(min(0.1, max(deadline - time.monotonic(), 0)))
    if len(producer):
        producer.purge()  # the purged records' callbacks report them as failed
        producer.flush(1.0)
    unanswered = len(producer)
    if unanswered:
        stats.last_error = f"{unanswered} record(s) not acknowledged within {timeout:g} s"
        stats.failed += unanswered
    # every record handed to librdkafka got exactly one answer: that is what was sent
    stats.sent = stats.acknowledged + stats.failed
    stats.flushing = False


def _display(stats: ProduceStats, progress: bool, console: Console | None):
    if not progress:
        return nullcontext()
    from rich.live import Live
    from rich.text import Text

    if not console.is_terminal:  # a pipe, a log file, Jupyter: print the line once, at the end
        return nullcontext()
    return Live(
        get_renderable=lambda: Text(stats.line()),
        console=console,
        refresh_per_second=4,
        transient=False,
    )


def _number(name: str, value: object, *, minimum: float, inclusive: bool = True) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LabError(f"{name} must be a number, not {value!r}") from None
    if (
        math.isnan(number)
        or math.isinf(number)
        or number < minimum
        or (not inclusive and number == minimum)
    ):
        relation = "at least" if inclusive else "more than"
        raise LabError(f"{name} must be {relation} {minimum:g}, not {value!r}")
    return number


def produce_events(
    settings: KafkaSettings,
    topic: str,
    *,
    rate: float,
    count: int | None = None,
    duration: float | None = None,
    seed: int | None = None,
    late_fraction: float = 0.0,
    lateness: float | str = DEFAULT_LATENESS,
    duplicate_fraction: float = 0.0,
    malformed_fraction: float = 0.0,
    progress: bool = True,
    customers: int = DEFAULT_CUSTOMERS,
    connect_timeout: float = 10.0,
    flush_timeout: float = 30.0,
    console: Console | None = None,
    stop_event: threading.Event | None = None,
) -> ProduceStats:
    """Publish the order feed to ``topic`` at ``rate`` records/s until ``count`` records or ``duration`` s.

    Without ``count`` or ``duration`` it runs until Ctrl-C, the notebook's interrupt, or
    ``stop_event`` is set (for a producer running in a background thread); either way it flushes
    and returns the counts. ``lateness`` is seconds or text like ``"12m"``. With ``progress`` a
    live line (sent, acknowledged, failed, actual rate, the modes' counts) is drawn on ``console``
    (a terminal; elsewhere — a pipe, Jupyter — the line is printed once at the end). Raises
    LabError for bad arguments and when the cluster or the topic cannot be reached.
    """
    rate = _number("rate", rate, minimum=0, inclusive=False)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise LabError(f"count must be a whole number of records (0 or more), not {count!r}")
    if duration is not None:
        duration = _number("duration", duration, minimum=0, inclusive=False)
    try:
        lateness_s = parse_duration(lateness)
        modes = TeachingModes(
            late_fraction=_number("late_fraction", late_fraction, minimum=0),
            lateness=lateness_s,
            duplicate_fraction=_number("duplicate_fraction", duplicate_fraction, minimum=0),
            malformed_fraction=_number("malformed_fraction", malformed_fraction, minimum=0),
        )
        feed = OrderFeed(seed=seed, customers=customers)
    except ValueError as error:
        raise LabError(str(error)) from None
    stats = ProduceStats(target_rate=rate)
    if progress and console is None:
        from rich.console import Console

        console = Console()
    with _StopRequests() as stop:
        producer, client_errors = connect_producer(
            settings, topic, timeout=connect_timeout, on_delivery=stats.on_delivery
        )
        with _display(stats, progress, console) as live:
            _send_on_schedule(
                producer, topic, feed, modes, seed, stats, stop, client_errors, stop_event,
                rate=rate, limit=count, duration=duration,
            )  # fmt: skip
            _settle(producer, stats, flush_timeout, stop)
            if live is not None:
                live.refresh()
    if progress and not console.is_terminal:
        console.print(stats.line(), soft_wrap=True)
    if client_errors.fatal is not None:
        raise LabError(
            f"The Kafka producer stopped on a fatal error: {client_errors.fatal.str()} "
            f"({stats.acknowledged:,} records were acknowledged)."
        )
    return stats


@dataclass
class BackgroundRun:
    """A producer running in a thread; ``stats`` is set when its ``with`` block has ended."""

    topic: str
    stats: ProduceStats | None = None


@contextmanager
def produce_in_background(
    settings: KafkaSettings, topic: str, *, rate: float, **options: object
) -> Iterator[BackgroundRun]:
    """:func:`produce_events` in a background thread for the length of a ``with`` block.

    For a lesson that watches a stream while events keep arriving: the block runs while the
    feed is sent; leaving it stops the producer, waits for its flush, and re-raises its error if
    it had one. ``options`` are :func:`produce_events`'s (``seed``, ``late_fraction``, ...).
    """
    stop = threading.Event()
    run = BackgroundRun(topic)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            run.stats = produce_events(
                settings, topic, rate=rate, progress=False, stop_event=stop, **options
            )
        except BaseException as error:  # re-raised in the caller's thread below
            errors.append(error)

    thread = threading.Thread(target=send, name=f"producer-{topic}", daemon=True)
    thread.start()
    try:
        yield run
    finally:
        stop.set()
        thread.join()
    if errors:
        raise errors[0]


def _produce_when_room(producer: Producer, topic: str, value: bytes, key: bytes) -> None:
    """The local queue is full (the broker is slow or away): serve callbacks until there is room."""
    while True:
        producer.poll(0.05)
        try:
            producer.produce(topic, value, key)
            return
        except BufferError:
            continue


def _send_on_schedule(
    producer: Producer,
    topic: str,
    feed: OrderFeed,
    modes: TeachingModes,
    seed: int | None,
    stats: ProduceStats,
    stop: _StopRequests,
    client_errors: _ClientErrors,
    stop_event: threading.Event | None,
    *,
    rate: float,
    limit: int | None,
    duration: float | None,
) -> None:
    """The token bucket: record *i* is due at ``origin + i / rate``; send what is due, in chunks."""
    produce, poll, count_tags = producer.produce, producer.poll, stats._count
    next_record = None if modes.any else feed.next_record
    records = feed_records(feed, modes, seed=seed)
    chunk_size = max(1, min(MAX_CHUNK, int(rate / 100)))  # about 10 ms of records per step
    max_backlog = max(chunk_size, int(rate * MAX_CATCH_UP_S))
    start = origin = time.monotonic()
    end = None if duration is None else start + duration
    sent = 0
    while True:
        now = time.monotonic()
        stats.elapsed_s = now - start
        if stop.count or (stop_event is not None and stop_event.is_set()):
            stats.interrupted = True
            break
        if (end is not None and now >= end) or client_errors.fatal is not None:
            break
        due = int((now - origin) * rate) + 1  # records due by now on the schedule
        if limit is not None and due > limit:
            if sent >= limit and now - origin >= limit / rate:
                break  # all sent, and the last record's time slot is over
            due = limit
        backlog = due - sent
        if backlog <= 0:
            wait = origin + sent / rate - now  # when the next record is due
            if end is not None:
                wait = min(wait, end - now)
            if wait > 0.002:
                poll(min(wait, 0.1))  # serve delivery callbacks while waiting
            elif wait > 0:
                time.sleep(wait)
            continue
        if backlog > max_backlog:  # far behind: shift the schedule instead of bursting
            origin += (backlog - max_backlog) / rate
            backlog = max_backlog
        step = min(backlog, chunk_size)
        if next_record is not None:  # no teaching mode: the fast path, no tags to count
            for key, value in [next_record() for _ in range(step)]:
                try:
                    produce(topic, value, key)
                except BufferError:
                    _produce_when_room(producer, topic, value, key)
        else:
            for key, value, tags in islice(records, step):
                try:
                    produce(topic, value, key)
                except BufferError:
                    _produce_when_room(producer, topic, value, key)
                if tags:
                    count_tags(tags)
        sent += step
        stats.sent = sent
        poll(0)
    stats.sent = sent
    stats.elapsed_s = time.monotonic() - start


def _event_time(record: ScenarioRecord) -> datetime | None:
    if record.event is None:
        return None
    try:
        return parse_timestamp(record.event.get("event_timestamp"))
    except ValueError:
        return None


def replay_scenario(
    settings: KafkaSettings,
    topic: str,
    scenario: Scenario | str | Path,
    phase: int | None = None,
    *,
    connect_timeout: float = 10.0,
    flush_timeout: float = 30.0,
) -> ProduceStats:
    """Send a recorded scenario exactly: its records in file order, its bytes and event times as written.

    ``phase`` None sends every phase in order; ``phase=1`` sends only the first (the lessons send
    phase 1, let the pipeline process it, then send phase 2). Waits for every acknowledgement and
    raises LabError if any record was not delivered. ``late`` counts records whose event time is
    older than the newest event of the scenario before them (earlier phases included).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    phases: Iterable[list[ScenarioRecord]] = (
        scenario.phases if phase is None else [scenario.phase(phase)]
    )
    stats = ProduceStats()
    earlier = [] if phase is None else scenario.phases[: phase - 1]
    times = [_event_time(record) for records in earlier for record in records]
    newest: datetime | None = max((moment for moment in times if moment), default=None)
    start = time.monotonic()
    with _StopRequests() as stop:
        producer, _ = connect_producer(settings, topic, timeout=connect_timeout, **{"linger.ms": 5})
        for record in (record for records in phases for record in records):
            if stop.count:
                stats.interrupted = True
                break
            producer.produce(topic, record.value, record.key, on_delivery=stats.on_delivery)
            stats.sent += 1
            if record.expect == "duplicate":
                stats.duplicates += 1
            elif record.expect == "quarantine":
                stats.malformed += 1
            moment = _event_time(record)
            if moment is not None:
                if newest is not None and moment < newest:
                    stats.late += 1
                newest = moment if newest is None else max(newest, moment)
            producer.poll(0)
        _settle(producer, stats, flush_timeout, stop)
    stats.elapsed_s = time.monotonic() - start
    if stats.interrupted:
        raise KeyboardInterrupt
    if stats.failed:
        raise LabError(
            f"Scenario {scenario.name}: {stats.failed} of {stats.sent} records were not delivered "
            f"to {topic} ({stats.last_error})."
        )
    return stats
