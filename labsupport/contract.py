"""The event contract in plain Python: the rules :func:`labsupport.pipeline.validate_events`
applies with Spark, worded the same, for code that must check a record without starting Spark.

Three users, one copy of the rules:

- :mod:`labsupport.predict` reads records exactly as the pipeline does (``strict=False``), so
  its prediction of the quarantine matches Spark's;
- the producer (``producer.contract_violations``) checks its own output with ``strict=True``:
  the pipeline's rules plus two promises of the producer's — ``order_id`` is a UUID and
  ``event_timestamp`` has exactly the shape ``2026-01-15T10:03:27.512Z``;
- the tests compare both with the reasons Spark writes into the quarantine table.

>>> record_violations(b'{"order_id": 1}')[:2]
['missing field customer_id', 'missing field product_id']
>>> record_violations(b"\\xff\\xfe{")
['value is not valid UTF-8']
>>> event_time("2026-01-15T10:09:59.999Z")
datetime.datetime(2026, 1, 15, 10, 9, 59, 999000)
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from numbers import Integral, Real
from typing import Any

from labsupport.config import FUTURE_TOLERANCE
from labsupport.durations import spark_interval
from labsupport.schema import EVENT_FIELDS, EVENT_TYPES, PRODUCT_CATEGORIES, REGIONS

__all__ = [
    "CENT",
    "FATES",
    "FUTURE_REASON",
    "TIMESTAMP_PATTERN",
    "event_time",
    "event_violations",
    "is_number",
    "is_whole_number",
    "read_record",
    "record_violations",
]

#: What the pipeline does with a record (a recorded scenario's ``expect``, ``predict``'s fate):
#: ``counted`` — an ORDER_PLACED event Gold counts; ``not_counted`` — a valid cancel/update event
#: (Bronze only); ``dropped_late`` — valid, in Bronze, but too late for its Gold window;
#: ``quarantine`` — breaks the contract; ``duplicate`` — a second identical copy (Bronze holds
#: both, Gold counts the order once).
FATES = ("counted", "not_counted", "dropped_late", "quarantine", "duplicate")
#: The one timestamp shape the producer writes (the pipeline also accepts looser ISO-8601 forms).
TIMESTAMP_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
#: total_price must equal unit_price × quantity within a cent (float arithmetic gets its slack).
CENT = 0.01 + 1e-9
#: An event stamped further ahead of its receipt than the tolerance: a producer clock gone wrong.
FUTURE_REASON = (
    f"event_timestamp is more than {spark_interval(FUTURE_TOLERANCE)} after the broker received it"
)

_STRING_FIELDS = ("order_id", "customer_id", "product_id", "product_name", "product_category",
                  "event_type", "region")  # fmt: skip
_ALLOWED = (("event_type", EVENT_TYPES), ("region", REGIONS),
            ("product_category", PRODUCT_CATEGORIES))  # fmt: skip


def event_time(value: object) -> datetime | None:
    """An ISO-8601 timestamp → naive UTC (as Spark returns it in a UTC session); None if it is not one."""
    if not isinstance(value, str):
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment  # without an offset: the session's time zone, UTC


def is_number(value: object) -> bool:
    """A real number — ints, floats, numpy's too — but not a bool (Python's bool is an int)."""
    return isinstance(value, Real) and not isinstance(value, bool)


def is_whole_number(value: object) -> bool:
    """An integer — numpy's too — but not a bool: a count, an id, a quantity."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def event_violations(
    event: dict[str, Any], *, strict: bool = False, received_at: datetime | None = None
) -> list[str]:
    """Every contract rule a decoded event breaks (empty when it is valid).

    ``strict`` adds the producer's two promises (a UUID ``order_id``, the exact timestamp shape).
    ``received_at`` (naive UTC: the broker's receipt time) adds the clock rule: an event stamped
    more than :data:`~labsupport.config.FUTURE_TOLERANCE` after it breaks the contract.
    """
    reasons = [f"missing field {name}" for name in EVENT_FIELDS if name not in event]
    for name in _STRING_FIELDS:
        if name in event and not isinstance(event[name], str):
            reasons.append(f"{name} is null or not a string")
    quantity, unit_price, total_price = (
        event.get(k) for k in ("quantity", "unit_price", "total_price")
    )
    if "quantity" in event and not is_whole_number(quantity):
        reasons.append("quantity is null or not an integer")
    for name in ("unit_price", "total_price"):
        if name in event and not is_number(event[name]):
            reasons.append(f"{name} is null or not a number")
    if "event_timestamp" in event:
        stamp = event["event_timestamp"]
        if event_time(stamp) is None:
            reasons.append("event_timestamp is null or not an ISO-8601 timestamp")
        elif strict and not TIMESTAMP_PATTERN.match(stamp):
            reasons.append("event_timestamp is not the producer's shape 2026-01-15T10:03:27.512Z")
    for name, allowed in _ALLOWED:
        if isinstance(event.get(name), str) and event[name] not in allowed:
            reasons.append(f"unknown {name} '{event[name]}'")
    if is_whole_number(quantity) and quantity < 1:
        reasons.append("quantity must be at least 1")
    if is_number(unit_price) and unit_price < 0:
        reasons.append("unit_price must not be negative")
    if is_number(total_price) and total_price < 0:
        reasons.append("total_price must not be negative")
    if (
        is_number(unit_price)
        and is_number(total_price)
        and is_whole_number(quantity)
        and abs(total_price - unit_price * quantity) > CENT
    ):
        reasons.append("total_price is not unit_price × quantity")
    moment = event_time(event.get("event_timestamp"))
    if received_at is not None and moment is not None and moment > received_at + FUTURE_TOLERANCE:
        reasons.append(FUTURE_REASON)
    if strict and isinstance(event.get("order_id"), str):
        try:
            uuid.UUID(event["order_id"])
        except ValueError:
            reasons.append("order_id is not a UUID")
    return reasons


def _not_json(constant: str) -> Any:
    """NaN and Infinity are Python's extensions of JSON, which Spark's parser rejects: so do we."""
    raise ValueError(f"{constant} is not JSON")


def read_record(
    value: bytes | None, *, strict: bool = False, received_at: datetime | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """A Kafka value → ``(event, reasons)``, decoding it the way the pipeline does.

    ``event`` is None when the value is not a UTF-8 JSON object; ``reasons`` is empty when valid.
    ``received_at`` is the record's receipt time, for the clock rule (see :func:`event_violations`).
    """
    if value is None:
        return None, ["record has no value"]
    try:
        decoded = json.loads(bytes(value).decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError:
        return None, ["value is not valid UTF-8"]
    except (ValueError, RecursionError):  # RecursionError: nested deeper than a parser goes
        return None, ["value is not a JSON object"]
    if not isinstance(decoded, dict):
        return None, ["value is not a JSON object"]
    return decoded, event_violations(decoded, strict=strict, received_at=received_at)


def record_violations(
    value: bytes | None, *, strict: bool = False, received_at: datetime | None = None
) -> list[str]:
    """Every contract rule a Kafka value breaks (empty for a valid event)."""
    return read_record(value, strict=strict, received_at=received_at)[1]
