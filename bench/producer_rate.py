"""Benchmark: does the producer hold its target rate? (Not part of pytest.)

Starts the lab's embedded Kafka broker on free ports in a temporary folder, creates a topic like
the lab's (3 partitions), publishes the order feed at each target rate with the same function
`make produce` uses, and reports target vs achieved rate as a ratio. A warm-up run (100,000
records, not measured; ``--warmup 0`` to skip) lets the fresh broker's JVM compile its hot paths
first. The broker is stopped, and its folder removed, in ``finally``, whatever happens.

    .venv/bin/python bench/producer_rate.py                      # 500,000 events at 50,000/s, then 25 at 5/s
    .venv/bin/python bench/producer_rate.py --rate 50000 --count 500000 --rate 5 --count 25
    KAFKA_BOOTSTRAP_SERVERS=host:9092 .venv/bin/python bench/producer_rate.py   # an existing cluster

Results are also appended to bench/results/producer_rate.jsonl (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labsupport.config import KafkaSettings
from labsupport.errors import LabError
from labsupport.net import free_port
from labsupport.topics import delete_topic, ensure_topic
from producer import produce_events

RESULTS = Path(__file__).resolve().parent / "results" / "producer_rate.jsonl"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(settings: KafkaSettings, rate: float, count: int, progress: bool) -> dict:
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    ensure_topic(settings, topic)
    try:
        cpu, wall = _cpu_seconds(), time.monotonic()
        stats = produce_events(settings, topic, rate=rate, count=count, progress=progress)
        wall, cpu = time.monotonic() - wall, _cpu_seconds() - cpu
    finally:
        delete_topic(settings, topic)
    return {
        "target_rate": rate,
        "count": count,
        "sent": stats.sent,
        "acknowledged": stats.acknowledged,
        "failed": stats.failed,
        "sending_s": round(stats.elapsed_s, 3),
        "achieved_rate": round(stats.rate, 1),
        "ratio": round(stats.rate / rate, 4),
        "all_acknowledged_after_s": round(wall, 3),
        "producer_cpu_s": round(cpu, 2),
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, action="append", help="target rate (repeatable)")
    parser.add_argument("--count", type=int, action="append", help="records per rate (repeatable)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=100_000,
        help="records sent at the first rate before measuring, so a fresh broker's JVM has "
        "compiled its hot paths (0: measure cold; default 100000)",
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    rates = args.rate or [50_000.0, 5.0]
    counts = args.count or [500_000, 25][: len(rates)]
    if len(counts) != len(rates):
        parser.error("give one --count per --rate")
    broker = None
    try:
        if KafkaSettings.external_cluster_configured():
            settings = KafkaSettings.from_env()
        else:
            from labsupport.broker import EmbeddedBroker

            home = Path(tempfile.mkdtemp(prefix="bench-broker-"))
            broker = EmbeddedBroker(port=free_port(), controller_port=free_port(), home=home)
            settings = KafkaSettings(bootstrap_servers=broker.start(timeout=120))
            print(f"embedded broker at {settings.bootstrap_servers} (data in {home})")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        if args.warmup:
            warm = run(settings, rates[0], args.warmup, progress=False)
            print(
                f"warm-up (not measured): {args.warmup:,} records at {rates[0]:,.0f}/s, "
                f"{warm['ratio']:.3f} of target"
            )
        for rate, count in zip(rates, counts, strict=True):
            result = run(settings, rate, count, progress=not args.no_progress)
            print(
                f"target {rate:,.0f}/s, {count:,} records: achieved {result['achieved_rate']:,.1f}/s "
                f"= {result['ratio']:.3f} of target; all acknowledged after "
                f"{result['all_acknowledged_after_s']:.2f} s; producer CPU {result['producer_cpu_s']:.1f} s; "
                f"failed {result['failed']}; load average {result['load_average'][0]:.1f}"
            )
            result["warmup"] = args.warmup
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            with RESULTS.open("a") as out:
                out.write(json.dumps({"when": when, **result}) + "\n")
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if broker is not None:
            broker.stop()
            shutil.rmtree(broker.home, ignore_errors=True)
            print("embedded broker stopped, its folder removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
