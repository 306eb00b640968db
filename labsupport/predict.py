"""Predict Gold before Spark runs: the late-data rule as a few lines of plain Python.

"Predict, run, compare" is how lessons 04 and 05 teach the watermark: write down what Gold will
hold, run the real pipeline, and compare. This module is the prediction. It needs no Spark, no
Kafka and no clock — only the records, grouped into **phases**, one phase per micro-batch (the
recorded scenarios send phase 1, let the pipeline process it, then send phase 2).

The rule it models (:data:`labsupport.pipeline.GOLD_RULE`, checked against real Spark by
``tests/test_predict.py``; the window and the watermark delay are ``labsupport.config``'s
``WINDOW`` and ``WATERMARK``). It is the lab's one implementation of the rule: the checks,
"where did my event go?" (:mod:`labsupport.observe`) and the lessons' pictures all call it.

1. Only **valid ORDER_PLACED** events reach Gold. A record that breaks the event contract goes to
   quarantine — so does an event stamped more than ``FUTURE_TOLERANCE`` (5 minutes) after the
   broker received it, which would otherwise drag the watermark into the future; a valid cancel
   or update stays in Bronze.
2. The **watermark** a micro-batch runs with is the largest ``event_timestamp`` of the
   ORDER_PLACED events seen in *earlier* micro-batches, minus 10 minutes. The first batch has
   none (Spark writes 1970-01-01), so nothing in it is late. It never moves backwards.
3. An event falls in the 5-minute tumbling **window** ``[start, start + 5 min)`` that contains
   its event time. It is **dropped as too late** when that window's *end* is at or before the
   watermark — even an event older than the watermark still counts while its window is open.
   Every event of one micro-batch is judged against the same watermark.
4. A window keeps a **set** of its orders — ``(order_id, customer_id, quantity, total_price)``
   — so an identical copy of an order (a producer retry) counts once.

>>> from datetime import datetime, timedelta
>>> window_of(datetime(2026, 1, 15, 10, 9, 59, 999000))
(datetime.datetime(2026, 1, 15, 10, 5), datetime.datetime(2026, 1, 15, 10, 10))
>>> counts_in_gold(datetime(2026, 1, 15, 10, 9, 59, 999000), watermark=datetime(2026, 1, 15, 10, 10))
False
>>> counts_in_gold(datetime(2026, 1, 15, 10, 6), watermark=datetime(2026, 1, 15, 10, 8))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from labsupport.config import WATERMARK, WINDOW
from labsupport.contract import event_time, event_violations, read_record
from labsupport.schema import ORDER_PLACED

__all__ = [
    "clock",
    "counts_in_gold",
    "fates_frame",
    "predict_fates",
    "predict_gold",
    "predict_watermarks",
    "read_event",
    "scenario_phases",
    "sliding_windows_of",
    "window_of",
]


_EPOCH = datetime(1970, 1, 1)
_CENTS = Decimal("0.01")

Record = dict[str, Any] | bytes
Phases = Sequence[Sequence[Record]]


# --- The rule, one event at a time ---------------------------------------------------------------
def window_of(event_time: datetime) -> tuple[datetime, datetime]:
    """The tumbling window ``(start, end)`` that holds ``event_time``: start inclusive, end not.

    Windows are aligned to the epoch, as Spark's ``window()`` aligns them: 10:00, 10:05, ...
    """
    offset = (event_time - _EPOCH) % WINDOW
    start = event_time - offset
    return start, start + WINDOW


def sliding_windows_of(
    event_time: datetime, length: timedelta, slide: timedelta
) -> list[tuple[datetime, datetime]]:
    """Every sliding window ``(start, end)`` that holds ``event_time``, oldest first.

    Windows ``length`` long start every ``slide`` (aligned to the epoch, as Spark aligns them),
    so an event is in ``length / slide`` of them; with ``slide == length`` this is
    :func:`window_of`. Each window is judged against the watermark on its own: an event can
    still count in its newest window when its oldest has closed.

    >>> [f"{s:%H:%M}" for s, _ in sliding_windows_of(datetime(2026, 1, 15, 10, 7), WINDOW * 2, WINDOW)]
    ['10:00', '10:05']
    """
    newest = event_time - (event_time - _EPOCH) % slide
    starts = [newest - slide * n for n in range(length // slide)]
    return [(start, start + length) for start in reversed(starts) if start + length > event_time]


def counts_in_gold(event_time: datetime, watermark: datetime | None) -> bool:
    """Whether a valid ORDER_PLACED event at ``event_time`` counts, judged against ``watermark``.

    True when its window ends *after* the watermark (or there is no watermark yet).
    """
    return watermark is None or window_of(event_time)[1] > watermark


# --- Reading records the way the pipeline does ----------------------------------------------------
def read_event(
    record: Record, received_at: datetime | None = None
) -> tuple[dict[str, Any] | None, list[str]]:
    """``(event, reasons)``: a dict as it is, bytes decoded like Kafka's value; reasons if invalid.

    ``received_at`` is when the broker receives the record (naive UTC; default: now, as a
    prediction is made before the records are sent) — an event stamped more than the clock
    tolerance after it is invalid, as in the pipeline.
    """
    received = received_at or datetime.now(timezone.utc).replace(tzinfo=None)
    if isinstance(record, (bytes, bytearray)):
        return read_record(bytes(record), received_at=received)
    if not isinstance(record, dict):
        return None, [f"a record is a dict or bytes, not {type(record).__name__}"]
    return record, event_violations(record, received_at=received)


# --- Phases → fates → Gold ---------------------------------------------------------------------------
@dataclass
class _Window:
    """One Gold group's state, as Spark keeps it: the set of distinct orders, in arrival order."""

    orders: dict[tuple, dict[str, Any]] = field(default_factory=dict)


def _simulate(phases: Phases) -> tuple[list[dict[str, Any]], dict[tuple, _Window]]:
    fates: list[dict[str, Any]] = []
    groups: dict[tuple, _Window] = {}
    watermark: datetime | None = None
    newest: datetime | None = None
    for number, phase in enumerate(phases, start=1):
        batch_newest = newest
        for record in phase:
            event, reasons = read_event(record)
            order_id = event.get("order_id") if event else None
            fate: dict[str, Any] = {
                "phase": number,
                "order_id": order_id if isinstance(order_id, str) else None,
                "event_type": None,
                "event_timestamp": None,
                "window": None,
                "watermark": watermark,
            }
            fates.append(fate)
            if event is None or reasons:
                fate.update(fate="quarantine", reason="; ".join(reasons))
                continue
            moment = event_time(event["event_timestamp"])
            assert moment is not None  # validated above
            start, end = window_of(moment)
            fate.update(event_type=event["event_type"], event_timestamp=moment, window=(start, end))
            if event["event_type"] != ORDER_PLACED:
                fate.update(fate="not_counted", reason="Gold counts ORDER_PLACED events only")
                continue
            # every ORDER_PLACED event moves the max event time, late or not
            batch_newest = moment if batch_newest is None else max(batch_newest, moment)
            if not counts_in_gold(moment, watermark):
                fate.update(
                    fate="dropped_late",
                    reason=f"window ends {end:%H:%M:%S}, not after the watermark {watermark:%H:%M:%S}",
                )
                continue
            key = (start, event["region"], event["product_category"])
            order = (
                event["order_id"],
                event["customer_id"],
                event["quantity"],
                event["total_price"],
            )
            window = groups.setdefault(key, _Window())
            if order in window.orders:
                fate.update(
                    fate="duplicate", reason="the same order is already in its window's set"
                )
                continue
            window.orders[order] = event
            fate.update(
                fate="counted",
                reason="first batch: no watermark yet"
                if watermark is None
                else f"window ends {end:%H:%M:%S}, after the watermark {watermark:%H:%M:%S}",
            )
        newest = batch_newest
        if newest is not None:  # the watermark the *next* batch runs with
            candidate = newest - WATERMARK
            watermark = candidate if watermark is None else max(watermark, candidate)
    return fates, groups


def predict_fates(phases: Phases) -> list[dict[str, Any]]:
    """What becomes of each record, in order: one dict per record of every phase.

    Keys: ``phase`` (1, 2, ...), ``order_id``, ``event_type``, ``event_timestamp`` and ``window``
    (``(start, end)``; None for a record that is not a valid event), ``watermark`` (the one its
    micro-batch runs with; None in the first), ``fate`` (one of ``labsupport.contract.FATES``) and ``reason``.

    Each phase is one micro-batch; a record is an event dict or Kafka value bytes.
    """
    return _simulate(phases)[0]


def _round(value: float) -> float:
    """Round half up to cents, as Spark's ``round(x, 2)`` does (not Python's half-to-even)."""
    return float(Decimal(repr(value)).quantize(_CENTS, rounding=ROUND_HALF_UP))


def predict_gold(phases: Phases) -> list[dict[str, Any]]:
    """The Gold table after every phase has run, one dict per row, sorted by window, region, category.

    The columns are the design's (``labsupport.schema.GOLD_SCHEMA``), computed like
    ``labsupport.pipeline.gold_from_orders`` from each window's set of distinct orders; times
    are naive UTC datetimes, as Spark returns them.
    """
    rows = []
    for (start, region, category), window in _simulate(phases)[1].items():
        orders = list(window.orders.values())
        revenue = 0.0
        for order in orders:
            revenue += order["total_price"]
        rows.append(
            {
                "window_start": start,
                "window_end": start + WINDOW,
                "region": region,
                "product_category": category,
                "order_count": len(orders),
                "total_revenue": _round(revenue),
                "avg_order_value": _round(revenue / len(orders)),
                "total_units_sold": sum(order["quantity"] for order in orders),
                "unique_customers": len({order["customer_id"] for order in orders}),
            }
        )
    return sorted(
        rows, key=lambda row: (row["window_start"], row["region"], row["product_category"])
    )


def predict_watermarks(phases: Phases) -> list[datetime | None]:
    """The watermark each phase's micro-batch runs with (None for the first: no watermark yet)."""
    watermarks: list[datetime | None] = []
    for fate in predict_fates(phases):
        if len(watermarks) < fate["phase"]:
            watermarks.append(fate["watermark"])
    return watermarks


# --- Helpers for the lessons ------------------------------------------------------------------------
def scenario_phases(scenario: Any) -> list[list[Record]]:
    """A recorded scenario (``producer.load_scenario(...)``) as phases of records for this module.

    A record given as an event in the file is used as that dict, any other as its raw bytes.
    """
    return [
        [record.event if record.event is not None else record.value for record in phase]
        for phase in scenario.phases
    ]


def clock(moment: datetime | None) -> str:
    """``10:09:59.999`` — a time of day, milliseconds only when there are some; ``—`` for None.

    >>> clock(datetime(2026, 1, 15, 10, 9, 59, 999000)), clock(datetime(2026, 1, 15, 10, 5))
    ('10:09:59.999', '10:05:00')
    """
    if moment is None:
        return "—"
    text = f"{moment:%H:%M:%S}"
    return text + (f".{moment.microsecond // 1000:03d}" if moment.microsecond else "")


def fates_frame(fates: Iterable[dict[str, Any]]):
    """:func:`predict_fates` as a compact pandas table (times as ``HH:MM:SS``) for a notebook."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "phase": fate["phase"],
                "order_id": (fate["order_id"] or "—")[:8],
                "event_type": fate["event_type"] or "—",
                "event_time": clock(fate["event_timestamp"]),
                "window": "—"
                if fate["window"] is None
                else f"{fate['window'][0]:%H:%M}–{fate['window'][1]:%H:%M}",
                "watermark": clock(fate["watermark"]),
                "fate": fate["fate"],
                "reason": fate["reason"],
            }
            for fate in fates
        ]
    )
