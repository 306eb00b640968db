"""Event times as the contract writes them, and durations as learners type them.

The contract's ``event_timestamp`` is ISO-8601 in UTC with milliseconds and an explicit offset
(``Z``), e.g. ``2026-11-26T14:03:27.512Z``: Spark's ``from_json`` reads it exactly, whatever the
session's time zone, and two events one millisecond apart stay apart.

>>> format_timestamp(datetime(2026, 1, 15, 10, 9, 59, 999_000, tzinfo=timezone.utc))
'2026-01-15T10:09:59.999Z'
>>> parse_timestamp("2026-01-15T10:09:59.999Z") == datetime(2026, 1, 15, 10, 9, 59, 999_000, tzinfo=timezone.utc)
True
>>> parse_duration("12m"), parse_duration("90"), parse_duration("10 minutes"), parse_duration("1m30s")
(720.0, 90.0, 600.0, 90.0)
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from labsupport.contract import TIMESTAMP_PATTERN

__all__ = ["epoch_ms", "format_epoch_ms", "format_timestamp", "parse_duration", "parse_timestamp"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MS = timedelta(milliseconds=1)


@lru_cache(maxsize=4096)
def _second_prefix(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def format_epoch_ms(ms: int) -> str:
    """Milliseconds since the epoch → the contract's timestamp text (fast: cached per second)."""
    second, millis = divmod(ms, 1000)
    return f"{_second_prefix(second)}.{millis:03d}Z"


def epoch_ms(moment: datetime) -> int:
    """A datetime → whole milliseconds since the epoch (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _ONE_MS


def format_timestamp(moment: datetime) -> str:
    """A datetime → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC (a naive datetime is taken as UTC)."""
    return format_epoch_ms(epoch_ms(moment))


def parse_timestamp(text: str) -> datetime:
    """The contract's timestamp text → an aware UTC datetime; ValueError for any other shape."""
    if not isinstance(text, str) or not TIMESTAMP_PATTERN.match(text):
        raise ValueError(f"not an ISO-8601 UTC timestamp with milliseconds: {text!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


_UNITS = {
    "": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
}  # fmt: skip
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*")


def parse_duration(text: str | float) -> float:
    """``"12m"``, ``"90s"``, ``"90"``, ``"1m30s"``, ``"10 minutes"`` → seconds (ValueError otherwise)."""
    if isinstance(text, (int, float)):
        return float(text)
    source = text.strip().lower()
    total, position = 0.0, 0
    while position < len(source):
        match = _DURATION_PART.match(source, position)
        if not match or match.end() == position or match.group(2) not in _UNITS:
            raise ValueError(
                f"not a duration: {text!r} (use seconds or a unit, e.g. 90, 90s, 12m, 1h)"
            )
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not source:
        raise ValueError("not a duration: empty text")
    return total
