"""The design's e-commerce order feed, generated: who bought what, where, for how much, and when.

Eight products (``data/products.csv``), five regions weighted like real traffic
(us-east 35 %, us-west 25 %, eu-west 20 %, eu-central 12 %, ap-southeast 8 %), unit prices within
±15 % of the base price, one to four items, and event types placed : cancelled : updated = 3 : 1 : 1.
Cancellations and updates refer to orders placed earlier, so they carry the same ``order_id`` —
the Kafka key — and land on the same partition as the order they change. Customers come from a
fixed pool and repeat (a few loyal ones order often), which makes ``unique_customers`` differ
from ``order_count`` in Gold.

The same seed gives the same sequence of orders; only the event times follow the clock
(or the ``now`` you pass).

>>> from datetime import datetime, timezone
>>> feed = OrderFeed(seed=7)
>>> event = feed.next_event(now=datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc))
>>> event["event_type"], event["event_timestamp"]
('ORDER_PLACED', '2026-01-15T10:00:00.000Z')
>>> event["total_price"] == round(event["unit_price"] * event["quantity"], 2)
True
"""

from __future__ import annotations

import json
import random
import time
from bisect import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from labsupport.schema import EVENT_FIELDS, REGION_WEIGHTS
from producer.catalogue import PRICE_VARIANCE, Product, load_catalogue
from producer.timefmt import epoch_ms, format_epoch_ms

__all__ = [
    "DEFAULT_CUSTOMERS",
    "EVENT_TYPE_WEIGHTS",
    "OrderFeed",
    "encode_event",
    "event_key",
    "feed_events",
]

#: Size of the customer pool: small enough that customers come back within a window.
DEFAULT_CUSTOMERS = 500
#: placed : cancelled : updated = 3 : 1 : 1, as the issue asks.
EVENT_TYPE_WEIGHTS = {"ORDER_PLACED": 3, "ORDER_CANCELLED": 1, "ORDER_UPDATED": 1}
#: How many recent orders stay open for a later update or cancellation.
OPEN_ORDERS_LIMIT = 5_000

# The fast encoder below writes the fields in this order; fail loudly if the contract changes.
_FIELD_ORDER = (
    "order_id", "customer_id", "product_id", "product_name", "product_category", "quantity",
    "unit_price", "total_price", "event_type", "region", "event_timestamp",
)  # fmt: skip
if _FIELD_ORDER != EVENT_FIELDS:  # pragma: no cover - guards a future schema change
    raise ImportError(f"producer.feed writes {_FIELD_ORDER}, but the contract is {EVENT_FIELDS}")

_TYPE_THRESHOLDS = tuple(accumulate(EVENT_TYPE_WEIGHTS.values()))  # (3, 4, 5)
# a version 4 UUID: 4 bits of version, 2 bits of RFC 4122 variant, 122 random bits
_UUID_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_BITS = (0x4000 << 64) | (0x8000 << 48)


def encode_event(event: dict) -> bytes:
    """An event → the Kafka value: compact JSON in UTF-8, keys in the order given.

    >>> encode_event({"order_id": "o-1", "quantity": 2, "unit_price": 9.5})
    b'{"order_id":"o-1","quantity":2,"unit_price":9.5}'
    """
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_key(event: dict) -> bytes:
    """The Kafka key: the order id, so all events of one order share a partition."""
    return event["order_id"].encode("utf-8")


def _json_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


class _MoneyText(dict):
    """Cents → the JSON text of the amount (``13250`` → ``132.5``), computed once per amount."""

    def __missing__(self, cents: int) -> str:
        text = self[cents] = repr(cents / 100)
        return text


class OrderFeed:
    """An endless, seedable stream of order events that follow the event contract.

    ``next_event`` returns the event as a dict (for lessons and tests); ``next_record`` returns
    the same event already as Kafka key and value bytes, assembled from pre-built JSON pieces
    without a dict or ``json.dumps`` — that is what lets the producer keep 50,000 events/s on a
    small machine. For the same seed both give the same events, and ``next_record``'s bytes equal
    ``encode_event(next_event(...))``.
    """

    def __init__(
        self,
        seed: int | None = None,
        customers: int = DEFAULT_CUSTOMERS,
        catalogue: Sequence[Product] | None = None,
    ) -> None:
        if customers < 1:
            raise ValueError(f"customers must be at least 1, not {customers}")
        self.seed = seed
        self.catalogue: list[Product] = list(catalogue) if catalogue else load_catalogue()
        self.customer_ids: tuple[str, ...] = tuple(
            f"CUST-{number:05d}" for number in range(1, customers + 1)
        )
        self._rng = random.Random(seed)
        self._random, self._getrandbits = self._rng.random, self._rng.getrandbits
        self._regions = tuple(REGION_WEIGHTS)
        self._types = tuple(EVENT_TYPE_WEIGHTS)
        weights = tuple(accumulate(REGION_WEIGHTS.values()))
        # cumulative shares without the last one: bisect(..., random()) is then always in range
        self._region_cumulative = tuple(weight / weights[-1] for weight in weights[:-1])
        self._product_count = len(self.catalogue)
        self._prices = [(p.base_cents, *p.price_band_cents) for p in self.catalogue]
        # pre-built JSON pieces for next_record: everything that is not a number or an id
        self._customer_json = [f'"customer_id":{_json_text(c)},' for c in self.customer_ids]
        self._product_json = [
            f'"product_id":{_json_text(p.product_id)},'
            f'"product_name":{_json_text(p.product_name)},'
            f'"product_category":{_json_text(p.product_category)},"quantity":'
            for p in self.catalogue
        ]
        self._type_region_json = [
            f',"event_type":{_json_text(kind)},"region":{_json_text(region)},"event_timestamp":"'
            for kind in self._types
            for region in self._regions
        ]
        self._millis_json = [f'.{millis:03d}Z"}}' for millis in range(1000)]
        self._money = _MoneyText()
        self._second, self._second_text = -1, ""
        # open orders: [order_id, customer, product, region, unit_cents, quantity] (indexes)
        self._open: list[list] = []

    # --- the public API ---------------------------------------------------------------------------
    def next_event(self, now: datetime | None = None) -> dict:
        """The next event as a dict with every contract field; its time is ``now`` (default: the clock).

        A naive ``now`` is taken as UTC.
        """
        return self.next_event_at_ms(time.time_ns() // 1_000_000 if now is None else epoch_ms(now))

    def next_event_at_ms(self, now_ms: int) -> dict:
        """:meth:`next_event` with its time as epoch milliseconds."""
        order_id, customer, index, quantity, cents, kind, region = self._next()
        product = self.catalogue[index]
        return {
            "order_id": order_id,
            "customer_id": self.customer_ids[customer],
            "product_id": product.product_id,
            "product_name": product.product_name,
            "product_category": product.product_category,
            "quantity": quantity,
            "unit_price": cents / 100,
            "total_price": cents * quantity / 100,
            "event_type": self._types[kind],
            "region": self._regions[region],
            "event_timestamp": format_epoch_ms(now_ms),
        }

    def next_record(self, now_ms: int | None = None) -> tuple[bytes, bytes]:
        """The next event as Kafka ``(key, value)`` bytes; its time is ``now_ms`` (epoch ms, default: the clock)."""
        order_id, customer, index, quantity, cents, kind, region = self._next()
        second, millis = divmod(time.time_ns() // 1_000_000 if now_ms is None else now_ms, 1000)
        if second != self._second:  # the timestamp text changes once per second: cache it
            self._second, self._second_text = second, format_epoch_ms(second * 1000)[:-5]
        money = self._money
        return order_id.encode(), (
            f'{{"order_id":"{order_id}",{self._customer_json[customer]}'
            f"{self._product_json[index]}{quantity},"
            f'"unit_price":{money[cents]},"total_price":{money[cents * quantity]}'
            f"{self._type_region_json[kind * 5 + region]}"
            f"{self._second_text}{self._millis_json[millis]}"
        ).encode()

    # --- the generator ----------------------------------------------------------------------------
    def _order_id(self) -> str:
        """A random (version 4) UUID drawn from the feed's own generator, so seeds reproduce it."""
        text = f"{self._getrandbits(128) & _UUID_MASK | _UUID_BITS:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def _next(self) -> tuple:
        """The next event's content, as indexes: (order_id, customer, product, quantity, cents, type, region)."""
        random = self._random
        open_orders = self._open
        draw = random() * _TYPE_THRESHOLDS[-1]
        if draw < _TYPE_THRESHOLDS[0] or not open_orders:
            # a new order: a (skewed) customer from the pool, a product, a region, a price
            customer = int(len(self.customer_ids) * random() ** 2)
            index = int(random() * self._product_count)
            base, low, high = self._prices[index]
            cents = round(base * (1 + PRICE_VARIANCE * (2 * random() - 1)))
            cents = low if cents < low else high if cents > high else cents
            quantity = 1 + int(random() * 4)
            region = bisect(self._region_cumulative, random())
            order = [self._order_id(), customer, index, region, cents, quantity]
            if len(open_orders) < OPEN_ORDERS_LIMIT:
                open_orders.append(order)
            else:  # forget a random old order: it can no longer change
                open_orders[int(random() * len(open_orders))] = order
            kind = 0  # ORDER_PLACED
        elif draw < _TYPE_THRESHOLDS[1]:
            # a cancellation of an earlier order: same fields, and the order is closed
            position = int(random() * len(open_orders))
            order = open_orders[position]
            open_orders[position] = open_orders[-1]
            open_orders.pop()
            kind = 1  # ORDER_CANCELLED
        else:
            # an update of an earlier order: a different quantity at the same unit price
            order = open_orders[int(random() * len(open_orders))]
            order[5] = 1 + (order[5] + int(random() * 3)) % 4
            kind = 2  # ORDER_UPDATED
        order_id, customer, index, region, cents, quantity = order
        return order_id, customer, index, quantity, cents, kind, region


def feed_events(
    start: datetime, minutes: float, count: int, *, seed: int = 5
) -> list[dict[str, Any]]:
    """``count`` events of the order feed, evenly spread over ``minutes`` of event time from ``start``.

    The producer's :class:`producer.OrderFeed` with a fixed seed: the same events every run.
    """
    feed = OrderFeed(seed=seed)
    step = timedelta(minutes=minutes) / max(count, 1)
    return [feed.next_event(now=start + index * step) for index in range(count)]
