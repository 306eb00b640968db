"""Broken records, the way real producers break them — for the quarantine lessons.

Each kind turns a valid event into bytes that break the event contract in one realistic way.
The pipeline must route every one of them to the quarantine table with a reason, never drop
them silently and never let them reach Bronze or Gold.

=====================  ================================================================
kind                   what goes wrong (and a producer bug that does it)
=====================  ================================================================
not_json               a CSV line or a log line instead of JSON (wrong serializer)
truncated              the JSON is cut off (a fixed-size buffer, a crash mid-write)
wrong_types            a number as text: ``"quantity": "three"``, ``"unit_price": "$89.99"``,
                       or a local date format for event_timestamp
missing_fields         one or two required fields left out (an old producer version)
unknown_event_type     ``ORDER_SHIPPED``, ``order_placed`` ... (a new or misspelt type)
unknown_region         ``us-east-1``, ``EU-WEST`` ... (a cloud zone, wrong case)
negative_quantity      a return booked as a negative order
bad_total              total_price is not unit_price × quantity (discount or shipping added,
                       quantity forgotten)
not_utf8               the text is Windows-1252 or UTF-16, not UTF-8 (a legacy system)
=====================  ================================================================

>>> import random
>>> malformed_record("unknown_region", {"region": "us-east", "quantity": 1}, random.Random(1))
b'{"region":"EU-WEST","quantity":1}'
"""

from __future__ import annotations

import random
from collections.abc import Callable

from labsupport.schema import EVENT_FIELDS
from producer.feed import encode_event

__all__ = ["MALFORMED_KINDS", "malformed_record"]


def _not_json(event: dict, rng: random.Random) -> bytes:
    if rng.random() < 0.5:  # a CSV serializer where JSON was expected
        return ",".join(str(event.get(field, "")) for field in EVENT_FIELDS).encode()
    return (  # a log line
        f"{event.get('event_timestamp', '')} INFO {event.get('event_type', 'ORDER')} "
        f"order={event.get('order_id', '')} qty={event.get('quantity', '')} "
        f"total={event.get('total_price', '')}"
    ).encode()


def _truncated(event: dict, rng: random.Random) -> bytes:
    value = encode_event(event)
    # any proper prefix of a JSON object is not a JSON object: its closing brace is the last byte
    return value[: rng.randint(max(1, len(value) // 4), len(value) - 2)]


def _wrong_types(event: dict, rng: random.Random) -> bytes:
    broken = dict(event)
    variant = rng.randrange(3)
    if variant == 0:
        words = {1: "one", 2: "two", 3: "three", 4: "four"}
        broken["quantity"] = words.get(event.get("quantity"), "several")
    elif variant == 1:
        broken["unit_price"] = f"${event.get('unit_price', 0):.2f}"
    else:  # a local date format instead of ISO-8601
        text = str(event.get("event_timestamp", "2026-01-15T10:00:00.000Z"))
        broken["event_timestamp"] = f"{text[8:10]}/{text[5:7]}/{text[:4]} {text[11:19]}"
    return encode_event(broken)


def _missing_fields(event: dict, rng: random.Random) -> bytes:
    dropped = set(rng.sample(EVENT_FIELDS, rng.randint(1, 2)))
    return encode_event({key: value for key, value in event.items() if key not in dropped})


def _unknown_event_type(event: dict, rng: random.Random) -> bytes:
    kind = rng.choice(("ORDER_SHIPPED", "order_placed", "ORDER_REFUNDED", "PLACED"))
    return encode_event({**event, "event_type": kind})


def _unknown_region(event: dict, rng: random.Random) -> bytes:
    region = rng.choice(("us-east-1", "EU-WEST", "sa-east", "Frankfurt"))
    return encode_event({**event, "region": region})


def _negative_quantity(event: dict, rng: random.Random) -> bytes:
    quantity = -rng.randint(1, 4)
    unit_price = event.get("unit_price", 10.0)
    return encode_event(
        {**event, "quantity": quantity, "total_price": round(unit_price * quantity, 2)}
    )


def _bad_total(event: dict, rng: random.Random) -> bytes:
    unit_price = event.get("unit_price", 10.0)
    variant = rng.randrange(3)
    if variant == 0:  # quantity forgotten
        quantity = max(2, event.get("quantity", 2))
        return encode_event({**event, "quantity": quantity, "total_price": unit_price})
    quantity = event.get("quantity", 1)
    if variant == 1:  # a 10 % discount applied to the total only
        total = round(unit_price * quantity * 0.9, 2)
    else:  # shipping added to the total
        total = round(unit_price * quantity + 4.99, 2)
    if abs(total - unit_price * quantity) < 0.05:  # a tiny price: make the error visible
        total = round(unit_price * quantity + 1, 2)
    return encode_event({**event, "total_price": total})


def _not_utf8(event: dict, rng: random.Random) -> bytes:
    if rng.random() < 0.5:  # Windows-1252 from a legacy system: é is one byte, 0xE9
        name = f"{event.get('product_name', 'Product')} – édition spéciale"
        text = encode_event({**event, "product_name": name}).decode("utf-8")
        return text.encode("cp1252")
    return encode_event(event).decode("utf-8").encode("utf-16")  # starts with the BOM FF FE


_BREAKERS: dict[str, Callable[[dict, random.Random], bytes]] = {
    "not_json": _not_json,
    "truncated": _truncated,
    "wrong_types": _wrong_types,
    "missing_fields": _missing_fields,
    "unknown_event_type": _unknown_event_type,
    "unknown_region": _unknown_region,
    "negative_quantity": _negative_quantity,
    "bad_total": _bad_total,
    "not_utf8": _not_utf8,
}
#: Every way the producer can break a record, in the order the lessons show them.
MALFORMED_KINDS: tuple[str, ...] = tuple(_BREAKERS)


def malformed_record(kind: str, event: dict, rng: random.Random) -> bytes:
    """``event`` broken in the way ``kind`` names (one of :data:`MALFORMED_KINDS`), as Kafka value bytes."""
    try:
        breaker = _BREAKERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown malformed kind {kind!r}: use one of {', '.join(MALFORMED_KINDS)}"
        ) from None
    return breaker(event, rng)
