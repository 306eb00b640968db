"""The event contract, checked in plain Python: what makes a Kafka value a valid order event.

The pipeline checks the same rules with Spark (``labsupport.pipeline.validate_events``) and sends
a record that breaks any of them to quarantine. This copy lets the producer's tests, the
scenario files and a notebook cell check a record without starting Spark. It is a little
stricter than the pipeline on two points the producer promises: ``order_id`` is a UUID and
``event_timestamp`` has exactly the shape ``2026-01-15T10:03:27.512Z``.

>>> contract_violations(b'{"order_id": 1}')[:2]
['missing field customer_id', 'missing field product_id']
>>> contract_violations(b"\\xff\\xfe{")
['value is not valid UTF-8']
"""

from __future__ import annotations

import json
import uuid

from labsupport.schema import EVENT_FIELDS, EVENT_TYPES, PRODUCT_CATEGORIES, REGIONS
from producer.timefmt import parse_timestamp

__all__ = ["contract_violations", "is_valid_event"]

_STRING_FIELDS = (
    "order_id", "customer_id", "product_id", "product_name", "product_category",
    "event_type", "region",
)  # fmt: skip
_CENT = 0.01 + 1e-9


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def contract_violations(value: bytes | None) -> list[str]:
    """Every rule of the event contract that ``value`` breaks (empty for a valid event)."""
    if value is None:
        return ["record has no value"]
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return ["value is not valid UTF-8"]
    try:
        event = json.loads(text)
    except ValueError:
        return ["value is not a JSON object"]
    if not isinstance(event, dict):
        return ["value is not a JSON object"]
    reasons = [f"missing field {field}" for field in EVENT_FIELDS if field not in event]
    for field in _STRING_FIELDS:
        if field in event and not isinstance(event[field], str):
            reasons.append(f"{field} is null or not a string")
    if "quantity" in event and not (
        isinstance(event["quantity"], int) and not isinstance(event["quantity"], bool)
    ):
        reasons.append("quantity is null or not an integer")
    for field in ("unit_price", "total_price"):
        if field in event and not _is_number(event[field]):
            reasons.append(f"{field} is null or not a number")
    if "event_timestamp" in event:
        try:
            parse_timestamp(event["event_timestamp"])
        except ValueError:
            reasons.append("event_timestamp is not ISO-8601 UTC with milliseconds")
    if isinstance(event.get("order_id"), str):
        try:
            uuid.UUID(event["order_id"])
        except ValueError:
            reasons.append("order_id is not a UUID")
    for field, allowed in (
        ("event_type", EVENT_TYPES),
        ("region", REGIONS),
        ("product_category", PRODUCT_CATEGORIES),
    ):
        if isinstance(event.get(field), str) and event[field] not in allowed:
            reasons.append(f"unknown {field} '{event[field]}'")
    quantity, unit_price, total_price = (
        event.get("quantity"),
        event.get("unit_price"),
        event.get("total_price"),
    )
    if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity < 1:
        reasons.append("quantity must be at least 1")
    if _is_number(unit_price) and unit_price < 0:
        reasons.append("unit_price must not be negative")
    if _is_number(total_price) and total_price < 0:
        reasons.append("total_price must not be negative")
    if (
        _is_number(unit_price)
        and _is_number(total_price)
        and isinstance(quantity, int)
        and abs(total_price - unit_price * quantity) > _CENT
    ):
        reasons.append("total_price is not unit_price × quantity")
    return reasons


def is_valid_event(value: bytes | None) -> bool:
    """True when ``value`` follows the event contract."""
    return not contract_violations(value)
