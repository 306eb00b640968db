"""Seeing a stream work: per-batch progress, the watermark, freshness, and "where did my event go?".

Two sources of truth, both real: a query's progress reports (``query.recentProgress``: rows in,
max event time, watermark, rows dropped as late, state size), and the checkpoint itself — each
micro-batch's offsets file records the Kafka offsets it read *and* the watermark it ran with,
which is why the watermark survives restarts and why this module can explain a single event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from labsupport.config import WINDOW_DURATION
from labsupport.schema import ORDER_PLACED

__all__ = [
    "BatchRecord",
    "batch_history",
    "freshness_seconds",
    "newest_gold_windows",
    "progress_rows",
    "where_is",
]

_WINDOW = timedelta(minutes=int(WINDOW_DURATION.split()[0]))


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


@dataclass(frozen=True)
class BatchRecord:
    """What one committed micro-batch read and the watermark it ran with (from the checkpoint)."""

    batch_id: int
    watermark: datetime
    end_offsets: dict[int, int]  # partition → first offset *not* read by this batch


def batch_history(checkpoint: str | Path) -> list[BatchRecord]:
    """The committed batches of a Kafka query, read from its checkpoint's offset and commit logs."""
    checkpoint = Path(checkpoint)
    committed = {int(p.name) for p in (checkpoint / "commits").glob("[0-9]*")}
    records = []
    for path in sorted((checkpoint / "offsets").glob("[0-9]*"), key=lambda p: int(p.name)):
        batch_id = int(path.name)
        if batch_id not in committed:
            continue
        lines = path.read_text().splitlines()
        metadata = json.loads(lines[1])
        offsets: dict[int, int] = {}
        for line in lines[2:]:
            for partitions in json.loads(line).values():
                offsets.update({int(p): int(o) for p, o in partitions.items()})
        watermark = datetime.fromtimestamp(metadata["batchWatermarkMs"] / 1000, tz=timezone.utc)
        records.append(BatchRecord(batch_id, watermark.replace(tzinfo=None), offsets))
    return records


def where_is(spark: SparkSession, paths, order_id: str) -> list[str]:
    """Explain what became of every record of ``order_id``: Bronze, quarantine, Gold, or dropped late.

    ``paths`` is a :class:`labsupport.runner.LabPaths`. The Gold verdict replays Spark's rule
    with the watermark that the checkpoint recorded for the batch that read the record.
    """
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
        batch = next(
            (b for b in history if b.end_offsets.get(row.kafka_partition, -1) > row.kafka_offset),
            None,
        )
        window_start = _window_start(row.event_timestamp)
        window_end = window_start + _WINDOW
        if batch is None:
            verdict = "not read by the Gold query yet"
        elif window_end > batch.watermark:
            verdict = (
                f"counted in Gold window {window_start:%H:%M}–{window_end:%H:%M} "
                f"(batch {batch.batch_id}, watermark {batch.watermark:%H:%M:%S})"
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
    return answers or [f"{order_id}: not in Bronze or quarantine (not produced, or not read yet)"]


def _window_start(timestamp: datetime) -> datetime:
    minutes = _WINDOW.seconds // 60
    return timestamp.replace(
        minute=timestamp.minute - timestamp.minute % minutes, second=0, microsecond=0
    )


def newest_gold_windows(spark: SparkSession, gold_path: str, limit: int = 10):
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
