"""Durations: one parser for what people type, one formatter for what Spark reads.

The lab meets durations in three places — a trigger interval (``LAB_TRIGGER="30 seconds"``), a
producer's lateness (``--lateness 12m``) and the design's window and watermark — and reads all
of them here, so ``"1 hour"`` means an hour everywhere.

>>> parse_duration("12m"), parse_duration("90"), parse_duration("10 minutes"), parse_duration("1m30s")
(720.0, 90.0, 600.0, 90.0)
>>> parse_duration("1 hour"), parse_duration("500 ms")
(3600.0, 0.5)
>>> spark_interval(timedelta(minutes=5)), spark_interval(timedelta(seconds=90))
('5 minutes', '90 seconds')
>>> spark_interval(timedelta(seconds=parse_duration("1m30s"))), spark_interval(timedelta(seconds=0.5))
('90 seconds', '500 milliseconds')
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

__all__ = ["AVAILABLE_NOW", "parse_duration", "spark_interval", "trigger_interval"]

_UNITS = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
}  # fmt: skip
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*")
#: Spark's interval words in milliseconds, largest first: a duration is written in the largest
#: that divides it.
_SPARK_UNITS = (("hour", 3_600_000), ("minute", 60_000), ("second", 1_000), ("millisecond", 1))


def parse_duration(text: str | float) -> float:
    """``"12m"``, ``"90s"``, ``"90"``, ``"1m30s"``, ``"10 minutes"``, ``"1 hour"`` → seconds.

    A number is taken as seconds. Anything else raises ``ValueError`` with an example of the
    accepted forms (callers turn it into their own one-line message).
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if math.isnan(text) or math.isinf(text):
            raise ValueError(f"not a duration: {text!r}")
        return float(text)
    if not isinstance(text, str):
        raise ValueError(f"not a duration: {text!r}")
    source = text.strip().lower()
    if not source:
        raise ValueError("not a duration: empty text")
    total, position = 0.0, 0
    while position < len(source):
        match = _PART.match(source, position)
        if not match or match.end() == position or match.group(2) not in _UNITS:
            raise ValueError(
                f"not a duration: {text!r} (use seconds or a unit, e.g. 90, 90s, 12m, 1h)"
            )
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return total


def spark_interval(duration: timedelta) -> str:
    """A duration as the interval text Spark takes (``window``, ``withWatermark``, triggers).

    Spark wants a number, a space and a whole unit word (``30 seconds``, not ``30s``).
    """
    millis = round(duration.total_seconds() * 1000)
    if millis < 0 or abs(millis / 1000 - duration.total_seconds()) > 1e-9:
        raise ValueError(f"an interval for Spark is a whole number of ms, 0 or more: {duration}")
    if millis == 0:
        return "0 seconds"  # a trigger that starts the next micro-batch at once
    for word, size in _SPARK_UNITS:
        if millis % size == 0:
            count = millis // size
            return f"{count} {word}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable: every whole number of ms is a count of milliseconds")


#: The trigger that reads what is there now, in micro-batches, and stops.
AVAILABLE_NOW = "available-now"


def trigger_interval(trigger: str) -> str | None:
    """A trigger as people type it → Spark's interval text, or None for ``available-now``.

    >>> trigger_interval("30 seconds"), trigger_interval("1m"), trigger_interval("available-now")
    ('30 seconds', '1 minute', None)

    Anything else raises ``ValueError`` (``"5 bananas"``, ``"-1"``).
    """
    if trigger == AVAILABLE_NOW:
        return None
    return spark_interval(timedelta(seconds=parse_duration(trigger)))
