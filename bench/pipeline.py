"""``make bench``: the pipeline's throughput, freshness and cost — every figure beside its baseline.

Everything runs in one process, on one machine, against the lab's own embedded Kafka broker
(started on free ports in a temporary folder, stopped at the end) and the lab's Spark session:

- **producer**: the order feed sent at a target rate; achieved ÷ target;
- **drain rates** of one backlog of ``--events`` records (3 partitions), each from a fresh
  checkpoint, available-now: the *bare* baseline (ten lines of PySpark: Kafka's columns as they
  are into Delta), the Bronze query alone, the whole pipeline (Bronze, quarantine, Gold) with no
  cap and with the command line's cap of ``MAX_OFFSETS_PER_TRIGGER`` records a micro-batch;
  each as events/s and as a ratio to the bare baseline;
- **Gold freshness** at 1,000 and 10,000 events/s with a 1-second trigger: the producer runs in
  its own process for ``--seconds``; afterwards the tables say how long each order took from
  the broker (Bronze's ``kafka_ingest_ts``) to the Gold *table* (the commit time of the first
  Gold version whose order count includes it): p50 and p95, the lag when the producer stopped,
  and how long the pipeline needed to catch up;
- **state and memory** after the faster sustained run: Gold's state rows and bytes, the
  driver's JVM heap;
- **parsing**: the backlog read as a batch and taken to Bronze rows into Spark's ``noop`` sink,
  parsed with ``parse_events_plainly`` (a plain column, which the optimizer copies into every
  rule) and with ``parse_events`` (once per record): records/s each, and the ratio;
- **a micro-batch's fixed cost**: the median duration of a 10-record micro-batch of the bare
  baseline and of the Bronze query — what every batch pays whatever its size;
- **a lesson-sized run**: 60 events, all three queries, available-now — median seconds beside
  the bare baseline on the same 60 events;
- **partitions**: the whole pipeline's drain rate on topics of 1, 3 and 6 partitions, as a
  ratio to 1 partition.

Prints a table and writes ``bench/results/latest.json`` (git-ignored). Sizes are flags, so a
longer look is ``--events 100000 --seconds 60``.

    .venv/bin/python bench/pipeline.py          # what `make bench` runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from labsupport.broker import EmbeddedBroker
from labsupport.checkpoint import committed_offsets
from labsupport.config import MAX_OFFSETS_PER_TRIGGER, PROJECT_ROOT, KafkaSettings, LabPaths
from labsupport.net import free_port
from labsupport.pipeline import (
    bronze_rows,
    decode_records,
    parse_events,
    parse_events_plainly,
    valid_events,
    validate_events,
)
from labsupport.plans import count_in_plan, seconds_to_run
from labsupport.runner import (
    Pipeline,
    await_query,
    read_kafka,
    read_topic_now,
    run_available_now,
    start_pipeline,
)
from labsupport.schema import ORDER_PLACED
from labsupport.spark import get_spark
from labsupport.topics import consumer_lag, ensure_topic, topic_end_offsets
from producer import produce_events

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
PRODUCER_TARGET = 50_000.0
LESSON_EVENTS = 60
LESSON_ROUNDS = 5
FRESHNESS_RATES = (1_000, 10_000)
PARTITIONS = (1, 3, 6)
CATCH_UP_LIMIT_S = 120.0
SMALL_BATCH = 10


# --- The backlog and the baseline --------------------------------------------------------------------
def new_topic(settings: KafkaSettings, partitions: int = 3) -> str:
    topic = f"bench-{partitions}p-{uuid.uuid4().hex[:6]}"
    ensure_topic(settings, topic, partitions=partitions)
    return topic


def fill(settings: KafkaSettings, topic: str, events: int, rate: float = PRODUCER_TARGET) -> float:
    """Send ``events`` records of the order feed as fast as ``rate``; return the achieved rate."""
    stats = produce_events(settings, topic, rate=rate, count=events, seed=7, progress=False)
    if stats.failed:
        raise SystemExit(f"the producer lost {stats.failed} records: {stats.last_error}")
    return stats.rate


def timed(run: Callable[[], object]) -> float:
    started = time.monotonic()
    run()
    return time.monotonic() - started


def bare_query(
    spark: SparkSession, settings: KafkaSettings, topic: str, root: Path, cap: int | None = None
) -> StreamingQuery:
    """The bare baseline, started: Kafka's columns into Delta, no parsing, available-now."""
    name = uuid.uuid4().hex[:6]
    records = read_kafka(
        spark, settings, topic, starting_offsets="earliest", max_offsets_per_trigger=cap
    )
    return (
        records.select("key", "value", "partition", "offset", "timestamp")
        .writeStream.format("delta")
        .queryName(f"bare-{name}")
        .option("checkpointLocation", str(root / f"bare-{name}" / "checkpoint"))
        .trigger(availableNow=True)
        .start(str(root / f"bare-{name}" / "table"))
    )


def bare_drain(spark: SparkSession, settings: KafkaSettings, topic: str, root: Path) -> float:
    """Seconds for the bare baseline to drain ``topic`` from a fresh checkpoint."""
    query = bare_query(spark, settings, topic, root)
    return timed(lambda: await_query(query, timeout=600))


def batch_seconds(queries: list[StreamingQuery]) -> float:
    """The median duration of the micro-batches that read records, in seconds."""
    durations = [
        progress["durationMs"]["triggerExecution"] / 1000
        for query in queries
        for progress in query.recentProgress
        if progress["numInputRows"] > 0
    ]
    return statistics.median(durations)


def small_batch_costs(
    spark: SparkSession, settings: KafkaSettings, topic: str, root: Path
) -> dict[str, float]:
    """Median seconds of a ``SMALL_BATCH``-record micro-batch: the bare baseline and Bronze."""
    bare = await_query(bare_query(spark, settings, topic, root, cap=SMALL_BATCH), timeout=600)
    paths = LabPaths.under(root / f"batch-{uuid.uuid4().hex[:6]}")
    bronze = run_available_now(
        spark, settings, topic, paths, queries=("bronze",), max_offsets_per_trigger=SMALL_BATCH
    )
    return {"bare_s": batch_seconds([bare]), "bronze_s": batch_seconds(bronze.queries)}


def parse_rates(spark: SparkSession, settings: KafkaSettings, topic: str) -> dict[str, float]:
    """Records/s from Kafka records to Bronze rows (noop sink), for the plain and the single parse."""
    records = read_topic_now(spark, settings, topic).cache()
    count = records.count()
    figures: dict[str, float] = {"records": count}
    for name, parse in (("plainly", parse_events_plainly), ("once", parse_events)):
        rows = bronze_rows(valid_events(validate_events(parse(decode_records(records)))))
        figures[f"{name}_from_json"] = count_in_plan(rows, "from_json(")
        figures[f"{name}_per_s"] = count / seconds_to_run(rows)
    records.unpersist()
    figures["ratio"] = figures["once_per_s"] / figures["plainly_per_s"]
    return figures


def pipeline_drain(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    root: Path,
    *,
    queries: tuple[str, ...] = ("bronze", "quarantine", "gold"),
    cap: int | None = None,
) -> float:
    """Seconds for the lab's queries to drain the topic from a fresh checkpoint, available-now."""
    paths = LabPaths.under(root / f"pipeline-{uuid.uuid4().hex[:6]}")
    return timed(
        lambda: run_available_now(
            spark,
            settings,
            topic,
            paths,
            queries=queries,
            max_offsets_per_trigger=cap,
            timeout=1800,
        )
    )


# --- Freshness under a sustained feed ----------------------------------------------------------------
def _caught_up(settings: KafkaSettings, topic: str, paths: LabPaths) -> bool:
    ends = topic_end_offsets(settings, topic)
    return all(committed_offsets(paths.checkpoint(q)) == ends for q in ("bronze", "gold"))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def gold_latencies(spark: SparkSession, paths: LabPaths) -> list[float]:
    """Seconds from the broker to the Gold table, one per counted order, read from the tables.

    Bronze gives each order's receipt time (``kafka_ingest_ts``, the broker's clock). Gold's
    history gives each version's commit time and, by time travel, how many orders it counts.
    The k-th order received is taken as visible in the first version that counts k orders
    (micro-batches take records in offset order, so receipt order is counting order to within a
    batch).
    """
    from delta.tables import DeltaTable

    received = [
        row[0].timestamp()
        for row in spark.read.format("delta")
        .load(paths.bronze)
        .filter(F.col("event_type") == ORDER_PLACED)
        .select("kafka_ingest_ts")
        .orderBy("kafka_ingest_ts")
        .collect()
    ]
    versions = (
        DeltaTable.forPath(spark, paths.gold).history().select("version", "timestamp").collect()
    )
    visible: list[tuple[int, float]] = []  # (orders counted, commit time), oldest first
    for row in sorted(versions, key=lambda r: r.version):
        counted = (
            spark.read.format("delta")
            .option("versionAsOf", row.version)
            .load(paths.gold)
            .agg(F.sum("order_count"))
            .first()[0]
        )
        visible.append((int(counted or 0), row.timestamp.timestamp()))
    latencies = []
    position = 0
    for index, arrived in enumerate(received):
        while position < len(visible) and visible[position][0] < index + 1:
            position += 1
        if position == len(visible):
            break  # not in Gold (yet): counted below as not visible
        latencies.append(visible[position][1] - arrived)
    return latencies


def freshness(
    spark: SparkSession, settings: KafkaSettings, root: Path, rate: int, seconds: float
) -> tuple[dict[str, Any], Pipeline]:
    """Run the pipeline with a 1-second trigger while the producer sends ``rate`` events/s."""
    topic = new_topic(settings)
    paths = LabPaths.under(root / f"fresh-{rate}")
    pipeline = start_pipeline(
        spark, settings, topic, paths, trigger="1 second", max_offsets_per_trigger=None
    )
    try:
        command = [
            sys.executable, "-m", "producer.order_producer", "--rate", str(rate),
            "--duration", str(seconds), "--no-progress", "--topic", topic,
            "--bootstrap-servers", settings.bootstrap_servers, "--seed", "11",
        ]  # fmt: skip
        subprocess.run(command, cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL)
        lag_bronze, lag_gold = (
            sum(consumer_lag(settings, topic, paths.checkpoint(q)).values())
            for q in ("bronze", "gold")
        )
        stopped = time.monotonic()
        while not _caught_up(settings, topic, paths):
            pipeline.raise_if_failed()
            if time.monotonic() - stopped > CATCH_UP_LIMIT_S:
                break
            time.sleep(0.25)
        catch_up = time.monotonic() - stopped
        caught_up = _caught_up(settings, topic, paths)
    finally:
        pipeline.stop()
    sent = sum(topic_end_offsets(settings, topic).values())
    latencies = gold_latencies(spark, paths)
    figures = {
        "rate": rate,
        "seconds": seconds,
        "sent": sent,
        "achieved_rate_ratio": sent / (rate * seconds),
        "lag_at_stop_bronze": lag_bronze,
        "lag_at_stop_gold": lag_gold,
        "catch_up_s": catch_up if caught_up else None,
        "orders_visible": len(latencies),
        "p50_s": _percentile(latencies, 0.50) if latencies else None,
        "p95_s": _percentile(latencies, 0.95) if latencies else None,
    }
    return figures, pipeline


def state_and_memory(spark: SparkSession, pipeline: Pipeline) -> dict[str, Any]:
    """Gold's state after the sustained run, and the driver JVM's heap in use."""
    progress = (pipeline.gold.lastProgress if pipeline.gold else None) or {}
    state = (progress.get("stateOperators") or [{}])[0]
    runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
    return {
        "gold_state_rows": state.get("numRowsTotal"),
        "gold_state_bytes": state.get("memoryUsedBytes"),
        "driver_heap_used_mb": (runtime.totalMemory() - runtime.freeMemory()) / 2**20,
        "driver_heap_max_mb": runtime.maxMemory() / 2**20,
    }


# --- The report --------------------------------------------------------------------------------------
def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value:,}{unit}"


def report(results: dict[str, Any]) -> str:
    drain, lines = results["drain"], []
    bare = drain["bare_events_per_s"]
    lines.append(f"machine: {results['machine']}")
    lines.append(f"producer: {_fmt(results['producer']['achieved'])}/s of a {_fmt(PRODUCER_TARGET)}/s "
                 f"target ({results['producer']['ratio']:.2f}×)")  # fmt: skip
    lines.append(
        f"{'drain (' + _fmt(drain['events']) + ' events, 3 partitions)':<46} {'events/s':>10} {'vs bare':>8}"
    )
    for name, key in (
        ("bare Kafka → Delta (baseline)", "bare_events_per_s"),
        ("Bronze query alone", "bronze_events_per_s"),
        ("whole pipeline, uncapped", "pipeline_events_per_s"),
        (f"whole pipeline, cap {MAX_OFFSETS_PER_TRIGGER:,}/batch", "pipeline_capped_events_per_s"),
    ):
        lines.append(f"  {name:<44} {_fmt(drain[key]):>10} {drain[key] / bare:>7.3f}×")
    for fresh in results["freshness"]:
        lines.append(
            f"Gold freshness at {fresh['rate']:,}/s (1 s trigger, {fresh['seconds']:g} s): "
            f"p50 {_fmt(fresh['p50_s'], ' s')}, p95 {_fmt(fresh['p95_s'], ' s')}; "
            f"sent {fresh['achieved_rate_ratio']:.2f}× the target; lag at stop "
            f"{_fmt(fresh['lag_at_stop_bronze'])} (Bronze) {_fmt(fresh['lag_at_stop_gold'])} (Gold); "
            f"caught up in {_fmt(fresh['catch_up_s'], ' s')}"
        )
    state = results["state"]
    lines.append(
        f"after {results['freshness'][0]['rate']:,}/s: Gold state {_fmt(state['gold_state_rows'])} rows, "
        f"{_fmt((state['gold_state_bytes'] or 0) / 2**20, ' MB')}; driver heap "
        f"{_fmt(state['driver_heap_used_mb'], ' MB')} of {_fmt(state['driver_heap_max_mb'], ' MB')}"
    )
    parse = results["parse"]
    lines.append(
        f"parsing {_fmt(parse['records'])} records to Bronze rows (batch, noop sink): plain column "
        f"{_fmt(parse['plainly_per_s'])}/s ({parse['plainly_from_json']} × from_json in the plan), "
        f"once {_fmt(parse['once_per_s'])}/s ({parse['once_from_json']} ×): {parse['ratio']:.1f}×"
    )
    batch = results["batch"]
    lines.append(
        f"a {SMALL_BATCH}-record micro-batch: bare {batch['bare_s']:.2f} s, Bronze "
        f"{batch['bronze_s']:.2f} s ({batch['bronze_s'] / batch['bare_s']:.1f}×)"
    )
    lesson = results["lesson"]
    lines.append(
        f"lesson-sized run ({LESSON_EVENTS} events, 3 queries, available-now): median "
        f"{lesson['pipeline_s']:.2f} s; bare {lesson['bare_s']:.2f} s ({lesson['ratio']:.1f}×)"
    )
    parts = results["partitions"]
    lines.append(
        "whole pipeline by partitions: "
        + ", ".join(
            f"{p['partitions']}: {_fmt(p['events_per_s'])}/s ({p['vs_one']:.2f}×)" for p in parts
        )
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000, help="backlog size (default 30,000)")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="sustained-feed length (default 20)"
    )
    args = parser.parse_args()

    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="bench-"))
    broker = EmbeddedBroker(port=free_port(), controller_port=free_port(), home=home / "broker")
    try:
        settings = KafkaSettings(bootstrap_servers=broker.start())
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers  # the producer process
        spark = get_spark()
        results: dict[str, Any] = {
            "machine": f"{platform.node()} · {os.cpu_count()} cores · {platform.platform(terse=True)}",
            "time": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        }
        backlog = new_topic(settings)
        achieved = fill(settings, backlog, args.events)
        results["producer"] = {
            "target": PRODUCER_TARGET,
            "achieved": achieved,
            "ratio": achieved / PRODUCER_TARGET,
        }
        print(f"backlog: {args.events:,} events at {achieved:,.0f}/s", flush=True)
        bare_drain(
            spark, settings, backlog, home
        )  # warm-up: the first query of a JVM pays for class loading
        drain = {"events": args.events}
        for key, run in (
            ("bare", lambda: bare_drain(spark, settings, backlog, home)),
            ("bronze", lambda: pipeline_drain(spark, settings, backlog, home, queries=("bronze",))),
            ("pipeline", lambda: pipeline_drain(spark, settings, backlog, home)),
            (
                "pipeline_capped",
                lambda: pipeline_drain(spark, settings, backlog, home, cap=MAX_OFFSETS_PER_TRIGGER),
            ),
        ):
            drain[f"{key}_events_per_s"] = args.events / run()
            print(f"{key}: {drain[f'{key}_events_per_s']:,.0f} events/s", flush=True)
        results["drain"] = drain

        results["freshness"], pipelines = [], []
        for rate in FRESHNESS_RATES:
            figures, pipeline = freshness(spark, settings, home, rate, args.seconds)
            results["freshness"].append(figures)
            pipelines.append(pipeline)
            print(f"freshness at {rate:,}/s: {figures}", flush=True)
        results["state"] = state_and_memory(spark, pipelines[0])

        results["parse"] = parse_rates(spark, settings, backlog)
        print(f"parse: {results['parse']}", flush=True)

        small = new_topic(settings)
        fill(settings, small, LESSON_EVENTS, rate=1_000)
        results["batch"] = small_batch_costs(spark, settings, small, home)
        bare_s = statistics.median(
            bare_drain(spark, settings, small, home) for _ in range(LESSON_ROUNDS)
        )
        lesson_s = statistics.median(
            pipeline_drain(spark, settings, small, home) for _ in range(LESSON_ROUNDS)
        )
        results["lesson"] = {"pipeline_s": lesson_s, "bare_s": bare_s, "ratio": lesson_s / bare_s}

        results["partitions"] = []
        per_partition_events = args.events // 2
        for partitions in PARTITIONS:
            topic = new_topic(settings, partitions)
            fill(settings, topic, per_partition_events)
            rate = per_partition_events / pipeline_drain(spark, settings, topic, home)
            results["partitions"].append({"partitions": partitions, "events_per_s": rate})
        for row in results["partitions"]:
            row["vs_one"] = row["events_per_s"] / results["partitions"][0]["events_per_s"]
        results["wall_s"] = time.monotonic() - started
        spark.stop()
    finally:
        broker.stop()
        shutil.rmtree(home, ignore_errors=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report(results))
    print(f"\n{results['wall_s']:.0f} s in all; written to {RESULTS.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
