"""Event times as the contract writes them (durations are :mod:`labsupport.durations`'s).

The contract's ``event_timestamp`` is ISO-8601 in UTC with milliseconds and an explicit offset
(``Z``), e.g. ``2026-11-26T14:03:27.512Z``: Spark's ``from_json`` reads it exactly, whatever the
session's time zone, and two events one millisecond apart stay apart.

>>> format_timestamp(datetime(2026, 1, 15, 10, 9, 59, 999_000, tzinfo=timezone.utc))
'2026-01-15T10:09:59.999Z'
>>> parse_timestamp("2026-01-15T10:09:59.999Z") == datetime(2026, 1, 15, 10, 9, 59, 999_000, tzinfo=timezone.utc)
True
>>> format_epoch_ms(0), epoch_ms(datetime(1970, 1, 1, 0, 0, 1, 500_000))
('1970-01-01T00:00:00.000Z', 1500)
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from labsupport.contract import TIMESTAMP_PATTERN

__all__ = ["epoch_ms", "format_epoch_ms", "format_timestamp", "parse_timestamp"]

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
