"""Rate pacing: a token bucket on an absolute schedule, without Kafka and without a clock of its own.

Record *i* is due at ``origin + i / rate``. The sender asks :meth:`Pacer.take` how many records
are due at a moment and sends them, in chunks of about 10 ms of records, then serves Kafka's
callbacks; when none is due, :meth:`Pacer.wait` says how long until the next one. That keeps the
average exact from 1 event/s to tens of thousands per second without sleeping once per message.
After a stall (a busy machine) it catches up at most :data:`MAX_CATCH_UP_S` of records by moving
the schedule's origin, rather than sending everything it missed in one burst.

The caller passes the time (``time.monotonic()`` in the producer), so the arithmetic reads here:

>>> pacer = Pacer(rate=1_000, limit=25, start=0.0)
>>> pacer.chunk_size, pacer.max_backlog
(10, 2000)
>>> pacer.take(0.0)  # record 0 is due at once
1
>>> pacer.take(0.0), pacer.wait(0.0)  # record 1 is due at 1 ms
(0, 0.001)
>>> pacer.take(0.0125)  # records 1 to 12 are due by 12.5 ms: one chunk of 10 now
10
>>> pacer.take(0.03), pacer.take(0.03), pacer.sent  # 25 due, capped by the limit
(10, 4, 25)
>>> pacer.take(0.03) is None  # all sent, and the last record's slot (24-25 ms) is over
True

A stall of 10 s at 10 records/s: 100 records are late, 20 (two seconds' worth) are caught up.

>>> slow = Pacer(rate=10, start=0.0)
>>> slow.take(0.0), slow.take(10.0), slow.origin
(1, 1, 8.0)
"""

from __future__ import annotations

import time

__all__ = ["MAX_CATCH_UP_S", "MAX_CHUNK", "Pacer"]

#: The most the producer sends at once before serving delivery callbacks again.
MAX_CHUNK = 2_000
#: After a stall (a busy machine) the producer catches up at most this much, not in one burst.
MAX_CATCH_UP_S = 2.0


class Pacer:
    """Which records are due when, for ``rate`` records/s (above 0), until ``limit`` records or ``duration`` s.

    ``start`` is the moment the schedule begins (default: ``time.monotonic()`` now); every later
    moment passed to :meth:`take` and :meth:`wait` must come from the same clock.
    """

    def __init__(
        self,
        rate: float,
        *,
        limit: int | None = None,
        duration: float | None = None,
        start: float | None = None,
    ) -> None:
        self.rate = rate
        self.limit = limit
        self.chunk_size = max(1, min(MAX_CHUNK, int(rate / 100)))  # about 10 ms of records
        self.max_backlog = max(self.chunk_size, int(rate * MAX_CATCH_UP_S))
        self.start = time.monotonic() if start is None else start
        #: when record 0 is due; moves forward when a stall is too long to catch up
        self.origin = self.start
        self.end = None if duration is None else self.start + duration
        #: how many records :meth:`take` has handed out
        self.sent = 0

    def take(self, now: float) -> int | None:
        """How many records to send at ``now`` (counted as sent): 0 when none is due yet, None when the run is over."""
        if self.end is not None and now >= self.end:
            return None
        due = int((now - self.origin) * self.rate) + 1  # records due by now on the schedule
        if self.limit is not None and due > self.limit:
            if self.sent >= self.limit and now - self.origin >= self.limit / self.rate:
                return None  # all sent, and the last record's time slot is over
            due = self.limit
        backlog = due - self.sent
        if backlog <= 0:
            return 0
        if backlog > self.max_backlog:  # far behind: shift the schedule instead of bursting
            self.origin += (backlog - self.max_backlog) / self.rate
            backlog = self.max_backlog
        step = min(backlog, self.chunk_size)
        self.sent += step
        return step

    def wait(self, now: float) -> float:
        """Seconds from ``now`` until the next record is due (or the duration ends, if sooner)."""
        wait = self.origin + self.sent / self.rate - now
        if self.end is not None:
            wait = min(wait, self.end - now)
        return wait
