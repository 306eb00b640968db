"""The streaming commands behind ``python -m labsupport pipeline run | gold | where | run``.

Kept apart from :mod:`labsupport.cli` (argument parsing) so each reads as the lesson it runs.
In a terminal ``run`` redraws the Gold table in place; piped or logged (``make run | tee``),
where nothing can be redrawn, it prints each micro-batch as it ends and the Gold table after
each Gold batch, 120 columns wide rather than rich's 80.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from labsupport.config import WINDOW_DURATION, KafkaSettings, LabPaths
from labsupport.durations import AVAILABLE_NOW
from labsupport.errors import LabError
from labsupport.observe import (
    explain_order,
    freshness_seconds,
    newest_gold_windows,
    progress_rows,
    recent_orders,
    watermark_text,
)
from labsupport.queries import run_query
from labsupport.runner import Pipeline, refuse_a_new_checkpoint_over_data, start_pipeline
from labsupport.spark import get_spark, let_ctrl_c_stop_streams_cleanly
from labsupport.topics import consumer_lag

__all__ = [
    "PIPED_WIDTH",
    "batch_line",
    "gold_table",
    "run_lab",
    "run_pipeline",
    "show_gold",
    "show_where",
]

#: Columns when stdout is not a terminal (a pipe, a log): rich would assume 80 and cut the table.
PIPED_WIDTH = 120


def _console() -> Console:
    """Rich's console; piped, as wide as the Gold table, and lines of text never wrapped."""
    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS"):
        return console
    return Console(width=PIPED_WIDTH, soft_wrap=True)


console = _console()


def run_pipeline(
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths,
    *,
    trigger: str,
    starting_offsets: str,
    max_offsets_per_trigger: int,
) -> int:
    """Run Bronze, quarantine and Gold until they finish (available-now) or Ctrl-C."""
    spark = get_spark()
    let_ctrl_c_stop_streams_cleanly()
    pipeline = start_pipeline(
        spark,
        settings,
        topic,
        paths,
        trigger=trigger,
        starting_offsets=starting_offsets,
        max_offsets_per_trigger=max_offsets_per_trigger,
    )
    console.print(
        f"Pipeline running on {settings.bootstrap_servers} topic {topic} (trigger: {trigger}); "
        f"tables in {paths.delta_root}, checkpoints in {paths.checkpoint_root}"
    )
    try:
        if trigger == AVAILABLE_NOW:
            pipeline.await_all()
            _print_new_batches(pipeline, {})
        else:
            seen: dict[str, int] = {}
            while True:
                time.sleep(2)
                pipeline.raise_if_failed()
                _print_new_batches(pipeline, seen)
    except KeyboardInterrupt:
        console.print("Stopping the queries (Ctrl-C)...")
    finally:
        _stop_for_good(pipeline)
    console.print(_table_counts(paths))
    return 0


def _stop_for_good(pipeline: Pipeline) -> None:
    """Stop the queries as the command ends, with Spark's log off for good: their cancelled
    tasks report back a moment later, as WARN lines, and nothing after the stop is news."""
    get_spark().sparkContext.setLogLevel("OFF")
    pipeline.stop()


def batch_line(query_name: str, row: dict) -> str:
    """One micro-batch of :func:`~labsupport.observe.progress_rows` in words a newcomer reads right.

    Each query reads every record of its batch: the quarantine query *reads* them all and
    keeps only the invalid ones, so its count is what it read, not what it quarantined.

    >>> batch_line("quarantine", {"batch": 10, "input_rows": 1079})
    'quarantine query, batch 10: read 1,079 records'
    >>> batch_line("gold", {"batch": 0, "input_rows": 5, "watermark": "1970-01-01T00:00:00.000Z",
    ...                     "dropped_by_watermark": 0, "state_rows": 3})
    'Gold query, batch 0: read 5 records, no watermark yet, dropped as late 0, windows in state 3'
    """
    name = query_name.capitalize() if query_name in ("bronze", "gold") else query_name
    line = f"{name} query, batch {row['batch']}: read {row['input_rows']:,} records"
    if query_name.endswith("gold"):
        line += (
            f", {watermark_text(row['watermark'])}, dropped as late {row['dropped_by_watermark']:,}"
            f", windows in state {row['state_rows']:,}"
        )
    return line


def _print_new_batches(pipeline: Pipeline, seen: dict[str, int]) -> bool:
    """Print the batches that ended since the last call; True when one of them was Gold's."""
    gold_ran = False
    for query in pipeline.queries:
        for row in progress_rows(query):
            if row["batch"] <= seen.get(query.name, -1):
                continue
            seen[query.name] = row["batch"]
            gold_ran = gold_ran or query.name.endswith("gold")
            console.print(batch_line(query.name, row), highlight=False)
    return gold_ran


def _row_counts(paths: LabPaths) -> dict[str, int]:
    """Rows in Bronze, quarantine and Gold (0 for a table the pipeline has not created yet)."""
    spark = get_spark()
    return {
        name: spark.read.format("delta").load(path).count()
        if (Path(path) / "_delta_log").is_dir()
        else 0
        for name, path in (
            ("Bronze", paths.bronze),
            ("quarantine", paths.quarantine),
            ("Gold", paths.gold),
        )
    }


def _table_counts(paths: LabPaths, before: dict[str, int] | None = None) -> str:
    """``Bronze: 363 rows, ...``; with the counts from ``before`` a run, what it added too."""
    counts = _row_counts(paths)
    return ", ".join(
        f"{name}: {count:,} rows"
        + ("" if before is None or name == "Gold" else f" (+{count - before[name]:,} in this run)")
        for name, count in counts.items()
    )


def _unread_on_the_topic(settings: KafkaSettings, topic: str, paths: LabPaths) -> str | None:
    """What is on the topic but in no table yet, and why: the line that reconciles the counts."""
    try:
        unread = sum(consumer_lag(settings, topic, paths.checkpoint("bronze")).values())
    except LabError:  # the cluster went away meanwhile: the counts above stand on their own
        return None
    if unread == 0:
        return "Every record on the topic is in Bronze or quarantine (records in = Bronze + quarantine)."
    return (
        f"{unread:,} records on the topic are not in Bronze or quarantine yet: they arrived "
        "after the last trigger and wait for the next one (the next run reads them first)."
    )


def gold_table(paths: LabPaths, limit: int = 10) -> Table:
    """The newest Gold windows as a rich table, titled with how fresh Bronze is."""
    spark = get_spark()
    frame = newest_gold_windows(spark, paths.gold, limit)
    freshness = freshness_seconds(spark, paths.bronze)
    age = "no events yet" if freshness is None else f"newest event received {freshness:.0f} s ago"
    table = Table(
        title=f"Gold — newest {WINDOW_DURATION.rstrip('s').replace(' ', '-')} windows "
        f"({age}; {datetime.now():%H:%M:%S})"
    )
    for column in (
        "window (UTC)",
        "region",
        "category",
        "orders",
        "revenue",
        "avg",
        "units",
        "customers",
    ):
        table.add_column(
            column, justify="left" if column in ("window (UTC)", "region", "category") else "right"
        )
    for row in frame.itertuples():
        table.add_row(
            f"{row.window_start:%H:%M}–{row.window_end:%H:%M}",
            row.region,
            row.product_category,
            str(row.order_count),
            f"{row.total_revenue:.2f}",
            f"{row.avg_order_value:.2f}",
            str(row.total_units_sold),
            str(row.unique_customers),
        )
    return table


def require_tables(paths: LabPaths) -> None:
    """A one-line error before Spark starts when the pipeline has not created its tables yet."""
    for name, table in (("Bronze", paths.bronze), ("quarantine", paths.quarantine),
                        ("Gold", paths.gold)):  # fmt: skip
        if not (Path(table) / "_delta_log").is_dir():
            raise LabError(
                f"No {name} table at {table} yet: run the pipeline first "
                "(`make run`, or `python -m labsupport pipeline run`)."
            )


def show_gold(paths: LabPaths, limit: int) -> int:
    require_tables(paths)
    console.print(gold_table(paths, limit))
    return 0


def show_where(paths: LabPaths, order_id: str | None) -> int:
    """``where``: what became of each record of ``order_id``; without one, orders to ask about."""
    require_tables(paths)
    spark = get_spark()
    if order_id is None:
        orders = recent_orders(spark, paths.bronze)
        if not orders:
            raise LabError(
                f"Bronze ({paths.bronze}) holds no events yet: run the producer and the pipeline "
                "(`make run`), then ask again."
            )
        console.print("The orders Bronze received last, newest first:")
        for recent, event_type in orders:
            console.print(f"  {recent}  (last event: {event_type})", highlight=False)
        example = orders[-1][0]
        console.print(
            f"Ask where one went: `make where ID={example}` "
            f"(or `python -m labsupport where {example}`).",
            highlight=False,
        )
        return 0
    lines = explain_order(spark, paths, order_id)
    if not lines:
        raise LabError(
            f"No record of order {order_id} in Bronze or quarantine: it was not produced, or the "
            "pipeline has not read it yet (`make where` without ID lists the orders Bronze "
            "received last)."
        )
    for line in lines:
        console.print(line, markup=False, highlight=False)
    return 0


def show_query(paths: LabPaths, name: str, limit: int) -> int:
    """One of the design's SQL checks (``data/queries/<name>.sql``) against the tables."""
    require_tables(paths)
    run_query(get_spark(), paths, name).show(limit, truncate=False)
    return 0


def stop_producer(producer: subprocess.Popen, timeout: float = 15.0) -> str:
    """SIGINT (the producer flushes and prints its count), SIGKILL after ``timeout`` s; reaped.

    Returns what the producer printed on its stdout (its summary), when that was a pipe.
    """
    if producer.poll() is None:
        producer.send_signal(signal.SIGINT)
    try:
        printed, _ = producer.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(producer.pid, signal.SIGKILL)
        printed, _ = producer.communicate(timeout=timeout)
    return (printed or "").strip()


def _watch(
    pipeline: Pipeline,
    producer: subprocess.Popen,
    paths: LabPaths,
    deadline: float | None,
    refresh: float,
) -> None:
    """Until ``deadline``: each micro-batch as a line, and the Gold table, redrawn in a terminal.

    Piped, nothing can be redrawn: the table is printed after each Gold batch instead.
    """
    seen: dict[str, int] = {}
    live = (
        Live(gold_table(paths), console=console, refresh_per_second=1)
        if console.is_terminal
        else None
    )
    with live or nullcontext():
        while deadline is None or time.monotonic() < deadline:
            time.sleep(refresh)
            pipeline.raise_if_failed()
            if producer.poll() is not None:
                raise LabError(
                    f"The producer stopped (exit code {producer.returncode}; its message is "
                    "above): fix what it says, then run again."
                )
            gold_ran = _print_new_batches(pipeline, seen)
            if live is not None:
                live.update(gold_table(paths))
            elif gold_ran:
                console.print(gold_table(paths))


def run_lab(
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths,
    *,
    rate: float,
    duration: float | None,
    trigger: str,
    refresh: float = 5.0,
) -> int:
    """``make run``: the producer, the pipeline and a live Gold view, until Ctrl-C or ``duration``.

    At the end: the producer's counts, the tables' counts, and what is still on the topic —
    records sent after the last trigger, which the next trigger (the next run) reads.
    """
    refuse_a_new_checkpoint_over_data(paths)  # before the producer sends anything
    producer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "producer.order_producer",
            "--rate",
            str(rate),
            "--no-progress",
            "--topic",
            topic,
            "--bootstrap-servers",
            settings.bootstrap_servers,
        ],
        stdout=subprocess.PIPE,  # its summary is printed below the table, on a line of its own
        text=True,
        start_new_session=True,  # Ctrl-C reaches us; we stop the producer so it flushes cleanly
    )
    console.print(f"Producer started: {rate:g} events/s to {topic} (pid {producer.pid})")
    pipeline: Pipeline | None = None
    before: dict[str, int] = {}
    try:  # whatever fails from here on, and whenever Ctrl-C arrives, the producer is stopped
        spark = get_spark()
        let_ctrl_c_stop_streams_cleanly()
        before = _row_counts(paths)
        pipeline = start_pipeline(spark, settings, topic, paths, trigger=trigger)
        console.print(
            f"Pipeline started (trigger: {trigger}); Gold appears after the first batches. "
            "Ctrl-C to stop."
        )
        _watch(
            pipeline,
            producer,
            paths,
            None if duration is None else time.monotonic() + duration,
            refresh,
        )
    except KeyboardInterrupt:
        console.print("Stopping (Ctrl-C)...")
    finally:
        summary = stop_producer(producer)
        if pipeline is not None:
            _stop_for_good(pipeline)
        if summary:
            console.print(f"Producer: {summary}", highlight=False)
    if pipeline is not None:  # a Ctrl-C during start-up: no tables to count yet
        console.print(_table_counts(paths, before), highlight=False)
        unread = _unread_on_the_topic(settings, topic, paths)
        if unread:
            console.print(unread, highlight=False)
    return 0
