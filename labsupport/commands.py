"""The streaming commands behind ``python -m labsupport pipeline run | gold | where | run``.

Kept apart from :mod:`labsupport.cli` (argument parsing) so each reads as the lesson it runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from labsupport.config import WINDOW_DURATION, KafkaSettings, LabPaths
from labsupport.durations import AVAILABLE_NOW
from labsupport.errors import LabError
from labsupport.observe import freshness_seconds, newest_gold_windows, progress_rows, where_is
from labsupport.queries import run_query
from labsupport.runner import Pipeline, refuse_a_new_checkpoint_over_data, start_pipeline
from labsupport.spark import get_spark, let_ctrl_c_stop_streams_cleanly

__all__ = ["gold_table", "run_lab", "run_pipeline", "show_gold", "show_where"]

console = Console()


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
        pipeline.stop()
    console.print(_table_counts(paths))
    return 0


def _print_new_batches(pipeline: Pipeline, seen: dict[str, int]) -> None:
    for query in pipeline.queries:
        for row in progress_rows(query):
            if row["batch"] <= seen.get(query.name, -1):
                continue
            seen[query.name] = row["batch"]
            line = f"{query.name} batch {row['batch']}: {row['input_rows']} records"
            if query.name.endswith("gold"):
                line += (
                    f", watermark {row['watermark']}, dropped as late {row['dropped_by_watermark']}"
                    f", windows in state {row['state_rows']}"
                )
            console.print(line)


def _table_counts(paths: LabPaths) -> str:
    spark = get_spark()
    counts = {
        name: spark.read.format("delta").load(path).count()
        for name, path in (
            ("Bronze", paths.bronze),
            ("quarantine", paths.quarantine),
            ("Gold", paths.gold),
        )
    }
    return ", ".join(f"{name}: {count} rows" for name, count in counts.items())


def gold_table(paths: LabPaths, limit: int = 10) -> Table:
    """The newest Gold windows as a rich table, titled with how fresh Bronze is."""
    spark = get_spark()
    frame = newest_gold_windows(spark, paths.gold, limit)
    freshness = freshness_seconds(spark, paths.bronze)
    age = "no events yet" if freshness is None else f"newest event received {freshness:.0f} s ago"
    table = Table(
        title=f"Gold — newest {WINDOW_DURATION} windows ({age}; {datetime.now():%H:%M:%S})"
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
            column, justify="left" if column[0] in "wrc" and column != "customers" else "right"
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


def show_where(paths: LabPaths, order_id: str) -> int:
    require_tables(paths)
    for line in where_is(get_spark(), paths, order_id):
        console.print(line)
    return 0


def show_query(paths: LabPaths, name: str, limit: int) -> int:
    """One of the design's SQL checks (``data/queries/<name>.sql``) against the tables."""
    require_tables(paths)
    run_query(get_spark(), paths, name).show(limit, truncate=False)
    return 0


def stop_producer(producer: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGINT (the producer flushes and prints its count), SIGKILL after ``timeout`` s; reaped."""
    if producer.poll() is None:
        producer.send_signal(signal.SIGINT)
        try:
            producer.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(producer.pid, signal.SIGKILL)
            producer.wait(timeout)


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
    """``make run``: the producer, the pipeline and a live Gold view, until Ctrl-C or ``duration``."""
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
        start_new_session=True,  # Ctrl-C reaches us; we stop the producer so it flushes cleanly
    )
    console.print(f"Producer started: {rate:g} events/s to {topic} (pid {producer.pid})")
    pipeline: Pipeline | None = None
    try:  # whatever fails from here on, and whenever Ctrl-C arrives, the producer is stopped
        spark = get_spark()
        let_ctrl_c_stop_streams_cleanly()
        pipeline = start_pipeline(spark, settings, topic, paths, trigger=trigger)
        console.print(
            f"Pipeline started (trigger: {trigger}); Gold appears after the first batches. "
            "Ctrl-C to stop."
        )
        deadline = None if duration is None else time.monotonic() + duration
        with Live(gold_table(paths), console=console, refresh_per_second=1) as live:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(refresh)
                pipeline.raise_if_failed()
                if producer.poll() is not None:
                    console.print(f"The producer exited with code {producer.returncode}.")
                    return 1
                live.update(gold_table(paths))
    except KeyboardInterrupt:
        console.print("Stopping (Ctrl-C)...")
    finally:
        stop_producer(producer)
        if pipeline is not None:
            pipeline.stop()
    if pipeline is not None:  # a Ctrl-C during start-up: no tables to count yet
        console.print(_table_counts(paths))
    return 0
