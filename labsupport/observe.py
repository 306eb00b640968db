"""Seeing a stream work: per-batch progress, freshness and lag, and "where did my event go?".

Two sources of truth, both real: a query's progress reports (``query.recentProgress``: rows in,
max event time, watermark, rows dropped as late, state size), and the checkpoint itself — each
micro-batch's offsets file records the Kafka offsets it read *and* the watermark it ran with
(:mod:`labsupport.checkpoint`), which is why the watermark survives restarts and why this
module can explain a single event with the late-data rule of :mod:`labsupport.predict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from labsupport.checkpoint import OffsetsFile, batch_history, batch_that_read
from labsupport.config import KafkaSettings, LabPaths
from labsupport.predict import counts_in_gold, window_of
from labsupport.schema import ORDER_PLACED
from labsupport.topics import consumer_lag

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BATCH_PHASES",
    "LagSample",
    "batch_costs",
    "explain_order",
    "freshness_seconds",
    "gold_fate",
    "gold_fates",
    "lag_sample",
    "newest_gold_windows",
    "progress_frame",
    "progress_rows",
    "recent_orders",
    "watermark_text",
    "where_is",
]


def watermark_text(watermark: datetime | str | None) -> str:
    """``watermark HH:MM:SS`` (UTC), or ``no watermark yet`` while it is still Spark's start value.

    Until a batch has seen an event, Spark reports the watermark as the epoch (1970-01-01), which
    would read as "00:00:00". Takes a checkpoint's datetime or a progress report's ISO text.

    >>> watermark_text("1970-01-01T00:00:00.000Z"), watermark_text(datetime(2026, 1, 15, 10, 4, 30))
    ('no watermark yet', 'watermark 10:04:30')
    """
    if isinstance(watermark, str):
        watermark = datetime.fromisoformat(watermark.replace("Z", "+00:00")).replace(tzinfo=None)
    if watermark is None or watermark <= datetime(1970, 1, 1):
        return "no watermark yet"
    return f"watermark {watermark:%H:%M:%S}"


def progress_rows(query: StreamingQuery) -> list[dict]:
    """One row per recent micro-batch: the numbers a learner watches while a stream runs.

    Caveat taught in lesson 04: ``dropped_by_watermark`` counts rows dropped *after* Spark's
    partial aggregation, i.e. per window group within a batch, not per event. An idle
    processing-time stream repeats its last batch's report every 10 s; only the last report of
    each batch is kept.
    """
    rows: dict[int, dict] = {}
    for progress in query.recentProgress:
        state = (progress.get("stateOperators") or [{}])[0]
        event_time = progress.get("eventTime") or {}
        rows[progress["batchId"]] = {
            "batch": progress["batchId"],
            "input_rows": progress["numInputRows"],
            "max_event_time": event_time.get("max"),
            "watermark": event_time.get("watermark"),
            "dropped_by_watermark": state.get("numRowsDroppedByWatermark", 0),
            "state_rows": state.get("numRowsTotal", 0),
            "state_rows_evicted": state.get("numRowsRemoved", 0),
        }
    return list(rows.values())


def progress_frame(queries: Mapping[str, StreamingQuery]) -> pd.DataFrame:
    """:func:`progress_rows` of several queries (e.g. one per run) as one table, a ``run`` column first."""
    import pandas as pd

    rows = [{"run": name, **row} for name, query in queries.items() for row in progress_rows(query)]
    return pd.DataFrame(rows)


#: The phases of a micro-batch in its progress report's ``durationMs``, in the order they run.
BATCH_PHASES = ("latestOffset", "walCommit", "queryPlanning", "addBatch", "commitOffsets")


def batch_costs(queries: Mapping[str, StreamingQuery]) -> pd.DataFrame:
    """Seconds per micro-batch that read records, phase by phase, one row per batch and query.

    ``latestOffset`` asks Kafka where each partition ends; ``walCommit`` writes the batch's
    offsets file (lesson 06); ``queryPlanning`` plans it; ``addBatch`` runs it — the sink's
    Spark jobs and its commit; ``commitOffsets`` writes the commit file. ``seconds`` is the
    whole batch (``triggerExecution``), phases and the gaps between them.
    """
    import pandas as pd

    rows = []
    for name, query in queries.items():
        for progress in query.recentProgress:
            if progress["numInputRows"] == 0:
                continue
            took = progress["durationMs"]
            rows.append(
                {
                    "run": name,
                    "batch": progress["batchId"],
                    "input_rows": progress["numInputRows"],
                    "seconds": took.get("triggerExecution", 0) / 1000,
                    **{phase: took.get(phase, 0) / 1000 for phase in BATCH_PHASES},
                }
            )
    return pd.DataFrame(rows)


def gold_fate(
    history: Sequence[OffsetsFile], event_time: datetime, partition: int, offset: int
) -> tuple[OffsetsFile | None, bool]:
    """``(the Gold batch that read the event, whether it counted)`` for one ORDER_PLACED event.

    The batch comes from the Gold checkpoint's ``history``; the verdict is the late-data rule
    (:func:`labsupport.predict.counts_in_gold`) with the watermark that batch ran with. Not read
    yet: ``(None, False)``.
    """
    batch = batch_that_read(history, partition, offset)
    return batch, batch is not None and counts_in_gold(event_time, batch.watermark)


def where_is(spark: SparkSession, paths: LabPaths, order_id: str) -> list[str]:
    """Explain what became of every record of ``order_id``: Bronze, quarantine, Gold, or dropped late.

    The Gold verdict replays Spark's rule with the watermark that the checkpoint recorded for
    the batch that read the record (:func:`gold_fate`). An order with no record says so.
    """
    return explain_order(spark, paths, order_id) or [
        f"{order_id}: not in Bronze or quarantine (not produced, or not read yet)"
    ]


def explain_order(spark: SparkSession, paths: LabPaths, order_id: str) -> list[str]:
    """:func:`where_is`'s lines, one per record of ``order_id``; none when no table holds it."""
    answers: list[str] = []
    quarantined = (
        spark.read.format("delta")
        .load(paths.quarantine)
        .filter(F.col("raw_value").contains(order_id))
        .collect()
    )
    for row in quarantined:
        answers.append(
            f"quarantine: partition {row.kafka_partition} offset {row.kafka_offset} — "
            f"{'; '.join(row.reasons)}"
        )
    bronze = (
        spark.read.format("delta")
        .load(paths.bronze)
        .filter(F.col("order_id") == order_id)
        .orderBy("kafka_partition", "kafka_offset")
        .collect()
    )
    history = batch_history(paths.checkpoint("gold"))
    seen_placed = False
    for row in bronze:
        where = f"partition {row.kafka_partition} offset {row.kafka_offset}"
        if row.event_type != ORDER_PLACED:
            answers.append(f"Bronze ({where}): {row.event_type} — Gold counts ORDER_PLACED only")
            continue
        batch, counted = gold_fate(
            history, row.event_timestamp, row.kafka_partition, row.kafka_offset
        )
        window_start, window_end = window_of(row.event_timestamp)
        if batch is None:
            verdict = "not read by the Gold query yet"
        elif counted:
            verdict = (
                f"counted in Gold window {window_start:%H:%M}–{window_end:%H:%M} "
                f"(batch {batch.batch_id}, {watermark_text(batch.watermark)})"
            )
            if seen_placed:
                verdict += " — a duplicate of an earlier copy, so it counts once"
            seen_placed = True
        else:
            verdict = (
                f"dropped by Gold as too late: its window ended {window_end:%H:%M:%S}, not after "
                f"the watermark {batch.watermark:%H:%M:%S} of batch {batch.batch_id}"
            )
        answers.append(f"Bronze ({where}): {verdict}")
    return answers


def recent_orders(spark: SparkSession, bronze_path: str, limit: int = 5) -> list[tuple[str, str]]:
    """The ``limit`` orders Bronze received last, newest first: ``(order_id, newest event type)``.

    What ``where`` offers when it is asked about no order: the producer's order ids are random
    UUIDs, which nobody can guess.
    """
    newest = F.max(F.struct("kafka_ingest_ts", "kafka_offset", "event_type"))  # field by field
    rows = (
        spark.read.format("delta")
        .load(bronze_path)
        .groupBy("order_id")
        .agg(newest.alias("newest"))
        .orderBy(F.col("newest.kafka_ingest_ts").desc(), F.col("newest.kafka_offset").desc())
        .limit(limit)
        .collect()
    )
    return [(row.order_id, row.newest.event_type) for row in rows]


def gold_fates(spark: SparkSession, paths: LabPaths) -> list[dict[str, Any]]:
    """Bronze's ORDER_PLACED events that Gold has read: the batch that read each, and its fate.

    One dict per event: ``order_id``, ``event_timestamp``, ``batch`` (the Gold batch id) and
    ``dropped`` (True when the batch's watermark made it too late) — what lesson 04 plots.
    """
    history = batch_history(paths.checkpoint("gold"))
    rows = (
        spark.read.format("delta")
        .load(paths.bronze)
        .filter(F.col("event_type") == ORDER_PLACED)
        .select("order_id", "event_timestamp", "kafka_partition", "kafka_offset")
        .collect()
    )
    fates = []
    for row in rows:
        batch, counted = gold_fate(
            history, row.event_timestamp, row.kafka_partition, row.kafka_offset
        )
        if batch is not None:
            fates.append(
                {
                    "order_id": row.order_id,
                    "event_timestamp": row.event_timestamp,
                    "batch": batch.batch_id,
                    "dropped": not counted,
                }
            )
    return fates


def newest_gold_windows(spark: SparkSession, gold_path: str, limit: int = 10) -> pd.DataFrame:
    """The newest Gold rows as pandas, newest window first (for the terminal view and lessons)."""
    return (
        spark.read.format("delta")
        .load(gold_path)
        .orderBy(F.col("window_start").desc(), F.col("total_revenue").desc())
        .limit(limit)
        .toPandas()
    )


def freshness_seconds(spark: SparkSession, bronze_path: str) -> float | None:
    """Seconds since the broker received the newest event in Bronze (None when Bronze is empty)."""
    newest = spark.read.format("delta").load(bronze_path).agg(F.max("kafka_ingest_ts")).first()[0]
    if newest is None:
        return None
    return (datetime.now(timezone.utc).replace(tzinfo=None) - newest).total_seconds()


@dataclass(frozen=True)
class LagSample:
    """Freshness and lag at one moment, for a chart."""

    label: str
    at: datetime
    freshness_s: float | None
    lag: dict[int, int]

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


def lag_sample(
    spark: SparkSession, settings: KafkaSettings, topic: str, paths: LabPaths, label: str
) -> LagSample:
    """Measure now: Bronze's freshness (now − newest ``kafka_ingest_ts``) and Bronze's lag."""
    return LagSample(
        label,
        datetime.now(timezone.utc).replace(tzinfo=None),
        freshness_seconds(spark, paths.bronze),
        consumer_lag(settings, topic, paths.checkpoint("bronze")),
    )
