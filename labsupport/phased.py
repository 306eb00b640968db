"""Recorded phases as a stream: a learner's query run on known data, one micro-batch per phase.

The checks of lessons 04 and 05 grade streaming code by running it, the way lesson 04 runs the
pipeline on a recorded scenario: append phase 1's events to a Delta table, run the learner's
query available-now (its one micro-batch reads exactly that phase), append phase 2, run it again
on the same checkpoint, and so on. The watermark each batch runs with is then the one
:func:`labsupport.predict.predict_watermarks` computes, so the reference is the lab's rule in
plain Python, and a wrong delay or a missing watermark shows as a row that differs.

A Delta table as the source keeps a check independent of Kafka: the events arrive in Bronze's
shape (:data:`labsupport.schema.BRONZE_SCHEMA`), as a learner's query reads them from Bronze.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsupport.contract import event_time
from labsupport.errors import LabError
from labsupport.predict import Phases, Record, read_event
from labsupport.runner import await_query
from labsupport.schema import BRONZE_SCHEMA, EVENT_FIELDS, ORDER_PLACED

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

__all__ = [
    "Collected",
    "EmittedBatch",
    "bronze_frame",
    "orders_at",
    "run_in_update_mode",
    "run_phases",
]

_DAY = date(2026, 1, 15)  # the recorded scenarios' day


def orders_at(
    times: Sequence[str], *, day: date = _DAY, tag: str = "order"
) -> list[dict[str, Any]]:
    """One valid ORDER_PLACED event per time of day (``"10:02"``, ``"10:09:59.999"``), in order.

    Each is another order (its ``order_id`` a UUID made from ``tag`` and its position) of one
    us-east customer buying one 10.00 item, so only the event times tell them apart.

    >>> [e["event_timestamp"] for e in orders_at(["10:02", "10:09:59.999"])]
    ['2026-01-15T10:02:00.000Z', '2026-01-15T10:09:59.999Z']
    """
    events = []
    for position, clock_time in enumerate(times):
        moment = datetime.combine(
            day, datetime.strptime(clock_time, _clock_format(clock_time)).time()
        )
        events.append(
            {
                "order_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"streaming-lab/{tag}/{position}")),
                "customer_id": f"CUST-{position:05d}",
                "product_id": "P-1001",
                "product_name": "Wireless Noise-Cancelling Headphones",
                "product_category": "Electronics",
                "quantity": 1,
                "unit_price": 10.0,
                "total_price": 10.0,
                "event_type": ORDER_PLACED,
                "region": "us-east",
                "event_timestamp": f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z",
            }
        )
    return events


def _clock_format(clock_time: str) -> str:
    return {5: "%H:%M", 8: "%H:%M:%S"}.get(len(clock_time), "%H:%M:%S.%f")


def bronze_frame(
    spark: SparkSession, records: Sequence[Record], first_offset: int = 0
) -> DataFrame:
    """The valid events among ``records`` as Bronze rows (partition 0, offsets from ``first_offset``).

    An invalid record is left out, as the pipeline sends it to quarantine instead of Bronze.
    """
    received = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for record in records:
        event, reasons = read_event(record)
        if event is None or reasons:
            continue
        moment = event_time(event["event_timestamp"])
        values = {name: event[name] for name in EVENT_FIELDS}
        values["event_timestamp"] = moment
        values["unit_price"], values["total_price"] = (
            float(event["unit_price"]),
            float(event["total_price"]),
        )
        offset = first_offset + len(rows)
        rows.append({**values, "kafka_ingest_ts": received, "kafka_partition": 0,
                     "kafka_offset": offset, "event_date": moment.date()})  # fmt: skip
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


@dataclass(frozen=True)
class EmittedBatch:
    """What one micro-batch of an aggregation read (``input_rows``) and emitted (``rows``)."""

    batch_id: int
    input_rows: int
    rows: list[dict[str, Any]]


class Collected:
    """A ``foreachBatch`` function that keeps what a query emitted, batch by batch and key by key.

    Each emitted row replaces the one with the same ``key`` — what a MERGE into a table does —
    so after the last batch :attr:`rows` holds an update-mode query's result; :attr:`batches`
    holds what each micro-batch emitted and :attr:`batch_ids` its id (any output mode).
    """

    def __init__(self, key: Callable[[dict[str, Any]], Any]) -> None:
        self.key = key
        self.rows: dict[Any, dict[str, Any]] = {}
        self.batches: list[list[dict[str, Any]]] = []
        self.batch_ids: list[int] = []

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        emitted = [row.asDict(recursive=True) for row in batch.collect()]
        self.batches.append(emitted)
        self.batch_ids.append(batch_id)
        for row in emitted:
            self.rows[self.key(row)] = row


def run_phases(
    spark: SparkSession,
    phases: Phases,
    root: Path | str,
    start: Callable[[DataFrame], StreamingQuery],
    *,
    setup: Callable[[], object] | None = None,
    timeout: float = 120.0,
) -> list[StreamingQuery]:
    """Run ``start`` once per phase on a stream of a Delta events table under ``root`` (emptied first).

    ``setup()``, when given, runs once after ``root`` is emptied (e.g. to create the table a
    learner's query MERGEs into).

    Before each run the phase's valid events are appended to ``root/events`` (one table
    version); ``start(events)`` gets ``spark.readStream`` of that table and returns the started
    query, which must run available-now: it reads the new phase in one micro-batch and stops.
    A query still running after ``timeout`` seconds is stopped and raises a one-line
    :class:`LabError`, as does a failure. Returns the finished queries, one per phase.
    """
    root = Path(root)
    shutil.rmtree(root, ignore_errors=True)
    if setup is not None:
        setup()
    events_path = str(root / "events")
    queries: list[StreamingQuery] = []
    offset = 0
    for number, phase in enumerate(phases, start=1):
        frame = bronze_frame(spark, phase, first_offset=offset)
        offset += frame.count()
        frame.coalesce(1).write.format("delta").mode("append").save(events_path)
        query = start(spark.readStream.format("delta").load(events_path))
        if not (hasattr(query, "awaitTermination") and hasattr(query, "recentProgress")):
            raise LabError(
                f"phase {number}: expected the started query (what .start() returns), "
                f"got {type(query).__name__}."
            )
        try:
            queries.append(await_query(query, timeout))
        except LabError as error:
            still_running = "did not finish" in str(error)
            raise LabError(
                f"phase {number}: "
                + (
                    "the query was still running: trigger(availableNow=True) reads what is "
                    "there and stops."
                    if still_running
                    else str(error)
                )
            ) from None
    return queries


def run_in_update_mode(
    spark: SparkSession,
    aggregate: Callable[[DataFrame], DataFrame],
    phases: Phases,
    root: Path | str,
    key: Callable[[dict[str, Any]], Any],
    *,
    timeout: float = 120.0,
) -> Collected:
    """Run a learner's ``aggregate(events)`` phase by phase in update mode; what it emitted.

    Each phase's micro-batch goes to a :class:`Collected` keyed by ``key``, so its ``rows``
    hold each group's last value — the result a MERGE into a table would hold.
    """
    collected = Collected(key=key)
    checkpoint = str(Path(root) / "checkpoint")

    def start(events: DataFrame) -> StreamingQuery:
        return (
            aggregate(events)
            .writeStream.outputMode("update")
            .foreachBatch(collected)
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )

    run_phases(spark, phases, root, start, timeout=timeout)
    return collected
