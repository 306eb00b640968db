"""The teaching modes: late events, duplicates and malformed records mixed into the feed.

Each mode is a fraction of the generated events, and the modes combine:

- **late**: the event's ``event_timestamp`` is set back by a random delay between half and one and
  a half times the chosen lateness (12 minutes by default: 6 to 18 minutes), and it is sent now,
  among newer events — out of order, as a phone that was offline would deliver it. Some land
  inside the pipeline's 10-minute watermark and still count; some come too late for their window.
- **duplicates**: the record is sent a second time right after, with identical key and bytes, as an
  at-least-once producer does when it retries after a lost acknowledgement.
- **malformed**: the event is replaced by a broken record (see :mod:`producer.malformed`).

:func:`feed_records` yields ``(key, value, tags)``; the tags say which modes touched the record,
so the producer can count them in its progress line.

>>> modes = TeachingModes(duplicate_fraction=1.0)
>>> records = feed_records(OrderFeed(seed=1), modes, seed=1, clock_ms=lambda: 0)
>>> first, second = next(records), next(records)
>>> first[:2] == second[:2], second[2] == DUPLICATE
(True, True)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from labsupport.config import WATERMARK
from producer.feed import OrderFeed
from producer.malformed import MALFORMED_KINDS, malformed_record

__all__ = [
    "BEYOND_WATERMARK",
    "DEFAULT_LATENESS",
    "DUPLICATE",
    "LATE",
    "MALFORMED",
    "WATERMARK_SECONDS",
    "TeachingModes",
    "feed_records",
    "is_fraction",
]

#: Tags: bit flags on each record the stream yields.
LATE, BEYOND_WATERMARK, DUPLICATE, MALFORMED = 1, 2, 4, 8
#: The default lateness: 6 to 18 minutes back, around the 10-minute watermark.
DEFAULT_LATENESS = 12 * 60.0
#: The pipeline's watermark delay: a late event set back further than this is beyond it.
WATERMARK_SECONDS = WATERMARK.total_seconds()


def is_fraction(value: float) -> bool:
    """A share of the events: between 0 and 1 inclusive (NaN is not one)."""
    return 0.0 <= value <= 1.0


@dataclass(frozen=True)
class TeachingModes:
    """Which fraction of events is late, duplicated or malformed; the lateness in seconds.

    The one place the fractions are checked: each must be a number from 0 to 1 (text such as
    ``"0.2"`` is read as one); a ValueError names the argument, and :func:`produce_events`
    passes it on as a LabError.

    >>> TeachingModes(late_fraction="0.25").late_fraction
    0.25
    >>> TeachingModes(duplicate_fraction=-0.1)
    Traceback (most recent call last):
    ValueError: duplicate_fraction must be between 0 and 1, not -0.1
    """

    late_fraction: float = 0.0
    lateness: float = DEFAULT_LATENESS
    duplicate_fraction: float = 0.0
    malformed_fraction: float = 0.0

    def __post_init__(self) -> None:
        for name in ("late_fraction", "duplicate_fraction", "malformed_fraction"):
            value = getattr(self, name)
            try:
                fraction = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number, not {value!r}") from None
            if not is_fraction(fraction):
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
            object.__setattr__(self, name, fraction)  # frozen: set once, here
        if self.lateness <= 0:
            raise ValueError(f"lateness must be positive, not {self.lateness} s")

    @property
    def any(self) -> bool:
        return bool(self.late_fraction or self.duplicate_fraction or self.malformed_fraction)


def _clock_ms() -> int:
    return time.time_ns() // 1_000_000


def feed_records(
    feed: OrderFeed,
    modes: TeachingModes = TeachingModes(),
    *,
    seed: int | None = None,
    clock_ms: Callable[[], int] = _clock_ms,
) -> Iterator[tuple[bytes, bytes, int]]:
    """Endless ``(key, value, tags)`` records: the feed's events with the teaching modes applied.

    The modes draw from their own generator (seeded from ``seed``), so turning a mode on does
    not change which orders the feed generates.
    """
    next_record = feed.next_record
    if not modes.any:
        while True:
            key, value = next_record(clock_ms())
            yield key, value, 0
    rng = random.Random(None if seed is None else f"teaching-modes-{seed}")
    late_fraction, duplicate_fraction, malformed_fraction = (
        modes.late_fraction,
        modes.duplicate_fraction,
        modes.malformed_fraction,
    )
    while True:
        now, tags = clock_ms(), 0
        if late_fraction and rng.random() < late_fraction:
            delay = modes.lateness * (0.5 + rng.random())
            now -= round(delay * 1000)
            tags = LATE | (BEYOND_WATERMARK if delay > WATERMARK_SECONDS else 0)
        if malformed_fraction and rng.random() < malformed_fraction:
            event = feed.next_event_at_ms(now)
            key = event["order_id"].encode()
            value = malformed_record(rng.choice(MALFORMED_KINDS), event, rng)
            tags |= MALFORMED
        else:
            key, value = next_record(now)
        yield key, value, tags
        if duplicate_fraction and rng.random() < duplicate_fraction:
            yield key, value, DUPLICATE
