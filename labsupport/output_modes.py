"""Lesson 05's output modes, shown on the real stream: what Spark and Delta refuse, and append mode.

The pipeline writes Gold in update mode through ``foreachBatch`` and a ``MERGE``. Lesson 05 shows
why, with Spark's own answers: :func:`demonstrate_count_distinct_on_stream` (an exact distinct
count is refused on a stream), :func:`demonstrate_delta_update_sink` (Delta's streaming sink has
no update mode), and :func:`run_gold_in_append_mode` (the same aggregation, written once per
window when the watermark has passed it); :func:`emitted_by_mode` runs append and update side by
side on recorded phases and keeps what each micro-batch emitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from labsupport.config import WATERMARK_DELAY, WINDOW_DURATION, KafkaSettings
from labsupport.phased import Collected, EmittedBatch, run_phases
from labsupport.pipeline import gold_windows, valid_events, validate_records
from labsupport.predict import Phases
from labsupport.runner import await_query, read_kafka
from labsupport.schema import ORDER_PLACED
from labsupport.spark import quiet_spark_logs

__all__ = [
    "demonstrate_count_distinct_on_stream",
    "demonstrate_delta_update_sink",
    "emitted_by_mode",
    "run_gold_in_append_mode",
]


def _orders_stream(spark: SparkSession, settings: KafkaSettings, topic: str) -> DataFrame:
    records = read_kafka(spark, settings, topic, starting_offsets="earliest")
    return valid_events(validate_records(records))


def _quietly_start(start: Callable[[], StreamingQuery]) -> str | None:
    """Start a query that Spark should refuse; return its error message (None if it started)."""
    try:
        with quiet_spark_logs("ERROR"):
            query = start()
    except Exception as error:  # pyspark.errors.AnalysisException and friends
        return f"{type(error).__name__}: {error}".strip()
    query.stop()
    return None


def demonstrate_count_distinct_on_stream(
    spark: SparkSession, settings: KafkaSettings, topic: str
) -> str:
    """Try the design's ``countDistinct("customer_id")`` on the stream; return Spark's refusal.

    A streaming aggregation keeps a running state per window and updates it batch by batch. An
    exact distinct count would need every customer id seen so far in the state, so Spark rejects
    the query when it starts (``AnalysisException``); nothing runs. Gold keeps the window's set
    of orders instead — exact — and counts the distinct customers in it.
    """

    def start() -> StreamingQuery:
        orders = _orders_stream(spark, settings, topic).filter(F.col("event_type") == ORDER_PLACED)
        counted = (
            orders.withWatermark("event_timestamp", WATERMARK_DELAY)
            .groupBy(F.window("event_timestamp", WINDOW_DURATION), "region")
            .agg(F.countDistinct("customer_id").alias("unique_customers"))
        )
        return counted.writeStream.format("noop").outputMode("update").start()

    return _quietly_start(start) or "Spark accepted countDistinct on a stream (unexpected)"


def demonstrate_delta_update_sink(
    spark: SparkSession, settings: KafkaSettings, topic: str, path: str, checkpoint: str
) -> str:
    """Try to write Gold to Delta's streaming sink in update mode; return Spark's refusal.

    Delta's sink appends files (append mode) or replaces the table (complete mode); it cannot
    update rows in place, so ``outputMode("update")`` is refused at start. That is why the
    pipeline writes Gold with ``foreachBatch`` and a ``MERGE`` (:func:`labsupport.runner.upsert_gold`).
    """

    def start() -> StreamingQuery:
        gold = gold_windows(_orders_stream(spark, settings, topic))
        return (
            gold.writeStream.format("delta")
            .outputMode("update")
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start(path)
        )

    return _quietly_start(start) or "Delta accepted update mode (unexpected)"


def run_gold_in_append_mode(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    path: str,
    checkpoint: str,
    *,
    timeout: float = 180.0,
) -> StreamingQuery:
    """Run Gold's very aggregation in **append** mode into a Delta table, available-now, and stop.

    Append mode writes a window once, when it is final — when the watermark has passed its end
    and Spark evicts it from the state — and never again. Compare the table at ``path`` with
    Gold (update mode, MERGE) after each run: append is late and final, update is early and
    revised. Returns the stopped query (its progress reports stay readable).
    """
    gold = gold_windows(_orders_stream(spark, settings, topic))
    query = (
        gold.writeStream.format("delta")
        .queryName("gold_append_demo")
        .outputMode("append")
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start(path)
    )
    return await_query(query, timeout)


def emitted_by_mode(
    spark: SparkSession,
    phases: Phases,
    root: str | Path,
    modes: Sequence[str] = ("append", "update"),
) -> dict[str, list[EmittedBatch]]:
    """Run Gold's aggregation on recorded phases in each output mode; what every batch emitted.

    Each mode gets its own run of :func:`labsupport.phased.run_phases` (one data batch per
    phase, the watermark :mod:`labsupport.predict` computes) into a ``foreachBatch`` that keeps
    the emitted rows, so the modes see exactly the same input. Spark adds a *no-data batch*
    (0 input rows) whenever the watermark moved, to emit or evict what it closed. Draw the
    result with :func:`labsupport.charts.emitted_chart`.
    """
    emitted: dict[str, list[EmittedBatch]] = {}
    for mode in modes:
        collected = Collected(
            key=lambda row: (row["window_start"], row["region"], row["product_category"])
        )

        def start(
            events: DataFrame,
            mode: str = mode,
            collected: Collected = collected,
            checkpoint: str = str(Path(root) / mode / "checkpoint"),
        ) -> StreamingQuery:
            return (
                gold_windows(events)
                .writeStream.outputMode(mode)
                .foreachBatch(collected)
                .option("checkpointLocation", checkpoint)
                .trigger(availableNow=True)
                .start()
            )

        queries = run_phases(spark, phases, Path(root) / mode, start)
        inputs = {p["batchId"]: p["numInputRows"] for q in queries for p in q.recentProgress}
        emitted[mode] = [
            EmittedBatch(batch_id, inputs.get(batch_id, 0), rows)
            for batch_id, rows in zip(collected.batch_ids, collected.batches, strict=True)
        ]
    return emitted
