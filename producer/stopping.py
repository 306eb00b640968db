"""How a run ends: Ctrl-C or a set event asks it to stop, and the flush accounts for every record.

Whether the feed ran its course or was interrupted, :func:`settle` waits for the outstanding
acknowledgements, so every record handed to Kafka ends up counted as acknowledged or failed.

>>> import threading
>>> event = threading.Event()
>>> with StopRequests(event) as stop:
...     before = stop.requested
...     event.set()
>>> before, stop.requested
(False, True)
"""

from __future__ import annotations

import signal
import threading
import time

from confluent_kafka import Producer

from producer.stats import ProduceStats

__all__ = ["StopRequests", "settle"]


class StopRequests:
    """While a run lasts, Ctrl-C (SIGINT) and SIGTERM ask it to stop; they do not raise.

    An exception raised by a signal handler inside librdkafka's ``poll``/``flush`` surfaces as a
    ``SystemError`` instead of a ``KeyboardInterrupt``, so the handler only counts the request and
    the loop, which polls at most 0.1 s at a time, stops and flushes. A second request also cuts the
    flush short. Only the main thread may set handlers; elsewhere only ``event`` (a producer in a
    background thread is stopped by setting it) asks to stop.
    """

    def __init__(self, event: threading.Event | None = None) -> None:
        self.count = 0
        self.event = event
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        """True once a signal arrived or the event is set."""
        return bool(self.count) or (self.event is not None and self.event.is_set())

    def _request(self, signum: int, frame: object) -> None:
        self.count += 1

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._request)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def settle(
    producer: Producer, stats: ProduceStats, timeout: float, stop: StopRequests | None = None
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
