"""Benchmark: how long Spark takes to read a small topic, with the lab's fetch wait and Kafka's default.

Why it exists: a micro-batch of the lab reads a few hundred records from three partitions, and
Spark's Kafka consumer ends each partition's read with a fetch that finds no new bytes — which the
broker holds for ``fetch.max.wait.ms`` (Kafka's default 500 ms). ``KafkaSettings.spark_options``
sets it to ``KAFKA_FETCH_MAX_WAIT_MS``; this measures what that buys, as a ratio in one run.

Starts the lab's embedded broker on free ports in a temporary folder, produces ``--count`` order
events to a 3-partition topic, starts the lab's Spark session, then reads the whole topic as a
batch ``--rounds`` times with each setting, alternating (the first round of each is a warm-up and
is not counted). Prints the median seconds per read and the ratio default / lab. The broker is
stopped in ``finally``.

    .venv/bin/python bench/spark_kafka_read.py
    .venv/bin/python bench/spark_kafka_read.py --count 2000 --rounds 7

Results are also appended to bench/results/spark_kafka_read.jsonl (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labsupport.broker import EmbeddedBroker
from labsupport.config import KAFKA_FETCH_MAX_WAIT_MS, KafkaSettings
from labsupport.net import free_port
from labsupport.spark import get_spark
from labsupport.topics import ensure_topic
from producer import produce_events

RESULTS = Path(__file__).resolve().parent / "results" / "spark_kafka_read.jsonl"
KAFKA_DEFAULT_FETCH_MAX_WAIT_MS = 500


def read_seconds(spark, settings: KafkaSettings, topic: str, fetch_max_wait_ms: int) -> float:
    """Seconds to read the whole topic as a batch DataFrame (every record collected)."""
    options = {**settings.spark_options(), "kafka.fetch.max.wait.ms": str(fetch_max_wait_ms)}
    frame = (
        spark.read.format("kafka")
        .options(**options)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    start = time.perf_counter()
    frame.collect()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="records on the topic (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="reads per setting (default 5)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    broker = EmbeddedBroker(port=free_port(), controller_port=free_port(), home=home)
    try:
        settings = KafkaSettings(bootstrap_servers=broker.start())
        topic = "bench-spark-read"
        ensure_topic(settings, topic)
        produce_events(settings, topic, rate=5_000, count=args.count, seed=1, progress=False)
        spark = get_spark()
        waits = {"kafka default": KAFKA_DEFAULT_FETCH_MAX_WAIT_MS, "lab": KAFKA_FETCH_MAX_WAIT_MS}
        seconds: dict[str, list[float]] = {name: [] for name in waits}
        for _ in range(args.rounds + 1):
            for name, wait in waits.items():
                seconds[name].append(read_seconds(spark, settings, topic, wait))
        medians = {name: statistics.median(values[1:]) for name, values in seconds.items()}
        ratio = medians["kafka default"] / medians["lab"]
        for name, wait in waits.items():
            print(f"{name:>13}: fetch.max.wait.ms={wait:<4} median {medians[name]:.2f} s per read")
        print(f"ratio default / lab: {ratio:.2f}x  ({args.count} records, 3 partitions)")
        RESULTS.parent.mkdir(exist_ok=True)
        with RESULTS.open("a") as results:
            record = {"time": time.time(), "host": platform.node(), "count": args.count,
                      "medians_s": medians, "ratio": ratio}  # fmt: skip
            results.write(json.dumps(record) + "\n")
        spark.stop()
    finally:
        broker.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
