"""Publishing to Kafka: the paced order feed (in the foreground or a background thread), and given events.

:func:`produce_events` connects (:mod:`producer.connect`), sends the feed with the teaching modes
on the schedule :class:`~producer.pacing.Pacer` keeps, counts in :class:`~producer.stats.ProduceStats`,
draws the progress line, and ends with the flush (:mod:`producer.stopping`).
:func:`send_events` sends a list of events as fast as Kafka takes them, for a lesson that needs
a few chosen event times rather than a feed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any

from confluent_kafka import Producer

from labsupport.config import KafkaSettings
from labsupport.contract import is_whole_number
from labsupport.durations import parse_duration
from labsupport.errors import LabError
from producer.connect import ClientErrors, connect_producer
from producer.feed import DEFAULT_CUSTOMERS, OrderFeed, encode_event, event_key
from producer.modes import DEFAULT_LATENESS, TeachingModes, feed_records
from producer.pacing import Pacer
from producer.stats import ProduceStats
from producer.stopping import StopRequests, settle

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["BackgroundRun", "produce_events", "produce_in_background", "send_events"]


def _display(
    stats: ProduceStats, progress: bool, console: Console | None
) -> AbstractContextManager:
    """A live progress line on a terminal; nothing elsewhere (the line is printed once, at the end)."""
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
    if count is not None and not (is_whole_number(count) and count >= 0):
        raise LabError(f"count must be a whole number of records (0 or more), not {count!r}")
    if duration is not None:
        duration = _number("duration", duration, minimum=0, inclusive=False)
    try:
        modes = TeachingModes(  # checks the fractions
            late_fraction=late_fraction,
            lateness=parse_duration(lateness),
            duplicate_fraction=duplicate_fraction,
            malformed_fraction=malformed_fraction,
        )
        feed = OrderFeed(seed=seed, customers=customers)
    except ValueError as error:
        raise LabError(str(error)) from None
    stats = ProduceStats(target_rate=rate)
    if progress and console is None:
        from rich.console import Console

        console = Console()
    with StopRequests(stop_event) as stop:
        producer, client_errors = connect_producer(
            settings, topic, timeout=connect_timeout, on_delivery=stats.on_delivery
        )
        send = _feed_sender(producer, topic, feed, modes, seed, stats)
        with _display(stats, progress, console) as live:
            pacer = Pacer(rate, limit=count, duration=duration)
            _send_on_schedule(producer, send, pacer, stats, stop, client_errors)
            settle(producer, stats, flush_timeout, stop)
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


def _feed_sender(
    producer: Producer,
    topic: str,
    feed: OrderFeed,
    modes: TeachingModes,
    seed: int | None,
    stats: ProduceStats,
) -> Callable[[int], None]:
    """A function that sends the feed's next ``step`` records, with the teaching modes applied and counted."""
    produce, next_record = producer.produce, feed.next_record

    def send_plain(step: int) -> None:  # no teaching mode: the fast path, no tags to count
        for key, value in [next_record() for _ in range(step)]:
            try:
                produce(topic, value, key)
            except BufferError:
                _produce_when_room(producer, topic, value, key)

    if not modes.any:
        return send_plain
    records, count_tags = feed_records(feed, modes, seed=seed), stats.count_tags

    def send_tagged(step: int) -> None:
        for key, value, tags in islice(records, step):
            try:
                produce(topic, value, key)
            except BufferError:
                _produce_when_room(producer, topic, value, key)
            if tags:
                count_tags(tags)

    return send_tagged


def _send_on_schedule(
    producer: Producer,
    send: Callable[[int], None],
    pacer: Pacer,
    stats: ProduceStats,
    stop: StopRequests,
    client_errors: ClientErrors,
) -> None:
    """Send what ``pacer`` says is due, serve delivery callbacks while waiting; stop when it is over."""
    while True:
        now = time.monotonic()
        stats.elapsed_s = now - pacer.start
        if stop.requested:
            stats.interrupted = True
            break
        if client_errors.fatal is not None:
            break
        step = pacer.take(now)
        if step is None:
            break
        if not step:
            wait = pacer.wait(now)
            if wait > 0.002:
                producer.poll(min(wait, 0.1))  # serve delivery callbacks while waiting
            elif wait > 0:
                time.sleep(wait)
            continue
        send(step)
        stats.sent = pacer.sent
        producer.poll(0)
    stats.sent = pacer.sent
    stats.elapsed_s = time.monotonic() - pacer.start


def send_events(
    settings: KafkaSettings, topic: str, events: Iterable[dict[str, Any]], timeout: float = 30.0
) -> int:
    """Send events as the producer does (compact JSON, keyed by ``order_id``); wait for the acks."""
    producer, _ = connect_producer(settings, topic)
    sent = 0
    for event in events:
        producer.produce(topic, encode_event(event), event_key(event))
        sent += 1
        producer.poll(0)
    left = producer.flush(timeout)
    if left:
        raise LabError(
            f"{left} of {sent} events were not acknowledged within {timeout:g} s: "
            "check the broker (`make status`) and send them again."
        )
    return sent
