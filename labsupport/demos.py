"""Lesson demonstrations: the few steps of lessons 04 and 05 that need Spark code a cell must not hold.

The notebooks call the pipeline, never re-write it (``tests/test_notebooks.py`` rejects
``withWatermark(``, ``foreachBatch(``, ``.merge(`` ... in a cell). Some lessons still need to
*show* Spark doing something the pipeline does not do — refuse ``countDistinct`` on a stream,
refuse update mode on Delta's sink, emit Gold in append mode — or to run the pipeline once and
look at it. Those steps live here, each small enough to read next to the lesson:

- :func:`run_available_now` (from :mod:`labsupport.runner`): one bounded run of the pipeline;
- :func:`predict_run_compare`: lesson 04's loop for a recorded scenario — predict with
  :mod:`labsupport.predict`, replay phase by phase with a run after each, compare;
- :func:`gold_comparison`, :func:`progress_frame`, :func:`plot_event_time`: tables and a picture;
- :func:`run_gold_in_append_mode`, :func:`demonstrate_count_distinct_on_stream`,
  :func:`demonstrate_delta_update_sink`: lesson 05's output modes and exact distinct counts;
- :func:`feed_events`, :func:`send_events`: a few minutes of event time from the order feed.

They use the real pipeline functions, on the lesson's own topic, tables and checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from labsupport.config import KafkaSettings
from labsupport.observe import batch_history, progress_rows
from labsupport.operate import starting_offsets_json, topic_end_offsets
from labsupport.pipeline import (
    decode_records,
    gold_windows,
    parse_events,
    valid_events,
    validate_events,
)
from labsupport.predict import (
    fates_frame,
    predict_fates,
    predict_gold,
    scenario_phases,
    window_of,
)
from labsupport.runner import LabPaths, Pipeline, read_kafka, run_available_now
from labsupport.schema import GOLD_KEY, ORDER_PLACED
from labsupport.spark import quiet_spark_logs

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "demonstrate_count_distinct_on_stream",
    "demonstrate_delta_update_sink",
    "feed_events",
    "gold_comparison",
    "plot_event_time",
    "predict_run_compare",
    "progress_frame",
    "run_available_now",
    "run_gold_in_append_mode",
    "send_events",
    "topic_end_offsets",
]


# --- Predict, run, compare ----------------------------------------------------------------------------
def _same_row(mine: Mapping[str, Any] | None, theirs: Mapping[str, Any] | None) -> bool:
    """Equal rows; money may differ by a cent (a float sum in another order can round the other way)."""
    if mine is None or theirs is None or set(mine) != set(theirs):
        return False
    money = ("total_revenue", "avg_order_value")
    return all(
        abs(mine[k] - theirs[k]) <= 0.011 if k in money else mine[k] == theirs[k] for k in mine
    )


def gold_comparison(
    spark: SparkSession, gold_path: str, predicted: Sequence[Mapping[str, Any]]
) -> tuple[pd.DataFrame, bool]:
    """Gold as Spark wrote it next to the prediction, one row per window, region and category.

    Returns the table (``order_count`` and ``total_revenue``, predicted and in Gold, and whether
    the whole row matches — money to the cent) and True when every row matches.
    """
    import pandas as pd

    actual = {
        tuple(row[k] for k in GOLD_KEY): row.asDict()
        for row in spark.read.format("delta").load(gold_path).collect()
    }
    expected = {tuple(row[k] for k in GOLD_KEY): dict(row) for row in predicted}
    rows = []
    for key in sorted(set(actual) | set(expected)):
        mine, theirs = expected.get(key), actual.get(key)
        rows.append(
            {
                "window": f"{key[0]:%H:%M}–{key[0] + timedelta(minutes=5):%H:%M}",
                "region": key[1],
                "product_category": key[2],
                "predicted orders": mine["order_count"] if mine else None,
                "Gold orders": theirs["order_count"] if theirs else None,
                "predicted revenue": mine["total_revenue"] if mine else None,
                "Gold revenue": theirs["total_revenue"] if theirs else None,
                "same": _same_row(mine, theirs),
            }
        )
    table = pd.DataFrame(rows)
    return table, bool(rows) and all(table["same"])


def predict_run_compare(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    scenario_name: str,
    root: Path | str,
    *,
    timeout: float = 180.0,
) -> tuple[LabPaths, list[Pipeline]]:
    """Lesson 04's loop for one recorded scenario, in its own tables and checkpoints under ``root``.

    1. **predict**: print what :func:`labsupport.predict.predict_fates` says each record becomes,
       and the Gold rows :func:`~labsupport.predict.predict_gold` expects;
    2. **run**: for each phase, replay it to ``topic`` and run the pipeline available-now (a new
       checkpoint starts at the topic's current end, so records sent before are not read);
    3. **compare**: print Gold next to the prediction.

    Returns the paths and the runs (one :class:`Pipeline` per phase, for their progress).
    """
    from producer import load_scenario, replay_scenario

    scenario = load_scenario(scenario_name)
    phases = scenario_phases(scenario)
    print(f"Scenario {scenario.name}: {scenario.description}\n")
    print("PREDICTED fates:")
    print(fates_frame(predict_fates(phases)).drop(columns=["reason"]).to_string(index=False))
    predicted = predict_gold(phases)
    paths = LabPaths.under(root)
    starting = starting_offsets_json(topic, topic_end_offsets(settings, topic))
    runs = []
    for number in range(1, len(phases) + 1):
        replay_scenario(settings, topic, scenario, phase=number)
        # Bronze and Gold only: the comparison and the picture read nothing else
        run = run_available_now(
            spark, settings, topic, paths,
            starting_offsets=starting, queries=("bronze", "gold"), timeout=timeout,
        )  # fmt: skip
        runs.append(run)
        watermark = (run.gold.lastProgress or {}).get("eventTime", {}).get("watermark")
        print(f"\nphase {number} replayed and processed; Gold's watermark now {watermark}")
    table, same = gold_comparison(spark, paths.gold, predicted)
    print("\nPREDICTED vs GOLD:")
    print(table.to_string(index=False))
    print("\n✓ Gold is exactly as predicted" if same else "\n✗ Gold differs from the prediction")
    return paths, runs


def progress_frame(queries: Mapping[str, StreamingQuery]) -> pd.DataFrame:
    """:func:`labsupport.observe.progress_rows` of several queries (e.g. one per run) as one table."""
    import pandas as pd

    rows = [{"run": name, **row} for name, query in queries.items() for row in progress_rows(query)]
    return pd.DataFrame(rows)


def _placed_with_batches(spark: SparkSession, paths: LabPaths) -> list[dict[str, Any]]:
    """Bronze's ORDER_PLACED events, each with the Gold batch that read it and that batch's watermark."""
    history = batch_history(paths.checkpoint("gold"))
    events = []
    rows = (
        spark.read.format("delta")
        .load(paths.bronze)
        .filter(F.col("event_type") == ORDER_PLACED)
        .select("order_id", "event_timestamp", "kafka_partition", "kafka_offset")
        .collect()
    )
    for row in rows:
        batch = next(
            (b for b in history if b.end_offsets.get(row.kafka_partition, -1) > row.kafka_offset),
            None,
        )
        if batch is None:
            continue
        end = window_of(row.event_timestamp)[1]
        events.append(
            {
                "order_id": row.order_id,
                "event_timestamp": row.event_timestamp,
                "batch": batch.batch_id,
                "dropped": end <= batch.watermark,
            }
        )
    return events


def plot_event_time(
    spark: SparkSession, paths: LabPaths, ax: Axes | None = None, title: str = ""
) -> Axes:
    """Events by event time (y) and the Gold micro-batch that read them (x), with the watermark.

    Counted events are dots, events dropped as too late are red crosses; the step line is the
    watermark each batch ran with (taken from the checkpoint), the dotted lines the window
    boundaries. An event below the line can still count: what matters is its window's *end*.
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    events = _placed_with_batches(spark, paths)
    history = [b for b in batch_history(paths.checkpoint("gold")) if b.watermark.year > 1970]
    for dropped, style in ((False, {"marker": "o", "color": "tab:blue"}),
                           (True, {"marker": "x", "color": "tab:red", "s": 80})):  # fmt: skip
        chosen = [e for e in events if e["dropped"] == dropped]
        ax.scatter(
            [e["batch"] for e in chosen],
            [e["event_timestamp"] for e in chosen],
            label="dropped as too late" if dropped else "counted in Gold",
            zorder=3,
            **style,
        )
    if history:
        ax.step(
            [b.batch_id for b in history],
            [b.watermark for b in history],
            where="mid",
            color="tab:orange",
            label="watermark of the batch",
        )
    if events:
        low = window_of(min(e["event_timestamp"] for e in events))[0]
        high = window_of(max(e["event_timestamp"] for e in events))[1]
        while low <= high:
            ax.axhline(low, color="grey", linewidth=0.5, linestyle=":")
            low += timedelta(minutes=5)
    ax.set_xlabel("Gold micro-batch (processing order)")
    ax.set_ylabel("event time")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.yaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    return ax


# --- Lesson 05: output modes and exact distinct counts ----------------------------------------
def _orders_stream(spark: SparkSession, settings: KafkaSettings, topic: str):
    records = read_kafka(spark, settings, topic, starting_offsets="earliest")
    return valid_events(validate_events(parse_events(decode_records(records))))


def _quietly_start(start) -> str | None:
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
            orders.withWatermark("event_timestamp", "10 minutes")
            .groupBy(F.window("event_timestamp", "5 minutes"), "region")
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
    pipeline writes Gold with ``foreachBatch`` and a ``MERGE`` (``labsupport.runner.upsert_gold``).
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
    try:
        if not query.awaitTermination(timeout):
            raise TimeoutError(f"the append-mode query did not finish within {timeout:.0f} s")
        if query.exception() is not None:
            raise RuntimeError(f"the append-mode query failed: {query.exception()}")
    finally:
        if query.isActive:
            query.stop()
    return query


# --- Event time on demand ------------------------------------------------------------------------------
def feed_events(
    start: datetime, minutes: float, count: int, *, seed: int = 5
) -> list[dict[str, Any]]:
    """``count`` events of the order feed, evenly spread over ``minutes`` of event time from ``start``.

    The producer's :class:`producer.OrderFeed` with a fixed seed: the same events every run.
    """
    from producer import OrderFeed

    feed = OrderFeed(seed=seed)
    step = timedelta(minutes=minutes) / max(count, 1)
    return [feed.next_event(now=start + index * step) for index in range(count)]


def send_events(
    settings: KafkaSettings, topic: str, events: Iterable[dict[str, Any]], timeout: float = 30.0
) -> int:
    """Send events as the producer does (compact JSON, keyed by ``order_id``); wait for the acks."""
    from producer import encode_event, event_key
    from producer.publish import connect_producer

    producer, _ = connect_producer(settings, topic)
    sent = 0
    for event in events:
        producer.produce(topic, encode_event(event), event_key(event))
        sent += 1
        producer.poll(0)
    left = producer.flush(timeout)
    if left:
        raise RuntimeError(f"{left} of {sent} events were not acknowledged within {timeout:g} s")
    return sent
