"""Faults a real deployment meets: the broker killed mid-stream, the pipeline killed in a Gold batch.

- The broker is SIGKILLed while the producer (idempotent, ``acks=all``) sends and the pipeline
  reads, then started again on the same data: the producer's retries and Spark's consumer carry
  on, and every record is in the topic once and in Bronze or quarantine once.
- The pipeline is SIGKILLed while a Gold micro-batch's MERGE writes its files,
  with windows still open and older ones already evicted by the watermark: after a restart Gold
  equals Gold recomputed from Bronze.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality

from labsupport.broker import EmbeddedBroker
from labsupport.checkpoint import batch_history, batch_ids, committed_offsets
from labsupport.config import PROJECT_ROOT, KafkaSettings, LabPaths
from labsupport.exactly_once import exactly_once_report
from labsupport.net import free_port
from labsupport.pipeline import gold_windows
from labsupport.pipeline_process import pipeline_process
from labsupport.runner import QUERIES, run_available_now, start_pipeline
from labsupport.topics import ensure_topic, topic_end_offsets
from tests.streaming import event, send

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.slow, pytest.mark.faults]

SENT = 3_000
RATE = 500  # events/s: the producer runs six seconds, the broker is down for three of them


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.1)


def test_a_broker_killed_mid_stream_loses_and_doubles_nothing(spark, tmp_path):
    broker = EmbeddedBroker(port=free_port(), controller_port=free_port(), home=tmp_path / "broker")
    settings = KafkaSettings(bootstrap_servers=broker.start())
    paths = LabPaths.under(tmp_path / "pipeline")
    topic = "faults"
    try:
        ensure_topic(settings, topic)
        with start_pipeline(spark, settings, topic, paths, trigger="1 second") as pipeline:
            producer = subprocess.Popen(
                [sys.executable, "-m", "producer.order_producer", "--topic", topic,
                 "--count", str(SENT), "--rate", str(RATE), "--malformed-fraction", "0.05",
                 "--bootstrap-servers", settings.bootstrap_servers, "--no-progress"],
                cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            _wait_for(
                lambda: sum(topic_end_offsets(settings, topic).values()) >= SENT // 3,
                60,
                "a third of the records sent",
            )
            assert producer.poll() is None, "mid-stream: the producer is still sending"
            os.kill(broker.status().pid, signal.SIGKILL)  # a crash: no flush, no clean shutdown
            time.sleep(3)
            assert producer.poll() is None, "the producer waits for the broker, it does not quit"
            broker.start()  # the same data folder: KRaft recovers its log
            _, err = producer.communicate(timeout=120)
            assert producer.returncode == 0, err
            in_topic = sum(topic_end_offsets(settings, topic).values())
            assert in_topic == SENT, "the idempotent producer's retries doubled nothing"
            ends = topic_end_offsets(settings, topic)
            _wait_for(
                lambda: all(committed_offsets(paths.checkpoint(q)) == ends for q in QUERIES),
                180,
                "every query read the whole topic",
            )
            pipeline.raise_if_failed()
        report = exactly_once_report(spark, paths, settings, topic)
        assert report.exactly_once and report.topic_records == SENT, str(report)
    finally:
        broker.stop()


WINDOWS = 8  # 40 minutes of event time: windows close (watermark 10 min) while later ones fill
EVENTS = 600
BATCH = 100


def _orders() -> list[dict]:
    """Orders 4 s apart, in event-time order: nothing is ever late, so Gold must equal a
    recomputation from Bronze; sent keyed, so every partition moves through time alike."""
    start = datetime(2026, 1, 15, 12, 0)
    regions = ["us-east", "us-west", "eu-west"]
    return [
        event(
            f"k-{i}",
            (start + timedelta(seconds=4 * i)).isoformat(timespec="milliseconds") + "Z",
            region=regions[i % 3],
            customer=f"c-{i % 41}",
            quantity=1 + i % 3,
            unit_price=round(4 + (i % 7) * 2.5, 2),
        )
        for i in range(EVENTS)
    ]


def _merge_in_flight(paths: LabPaths) -> int | None:
    """The Gold batch whose MERGE is writing now: planned, not committed, with data files in the
    Gold table newer than its ``offsets/N`` (a MERGE writes its files first, then its log entry).

    Batch N's offsets file is written only after batch N-1 committed, so a newer file is N's.
    """
    checkpoint = paths.checkpoint("gold")
    uncommitted = set(batch_ids(checkpoint, "offsets")) - set(batch_ids(checkpoint))
    if not uncommitted:
        return None
    batch = max(uncommitted)
    started = (Path(checkpoint) / "offsets" / str(batch)).stat().st_mtime
    files = Path(paths.gold).glob("*.parquet")
    return batch if any(file.stat().st_mtime > started for file in files) else None


def test_a_pipeline_killed_in_a_gold_batch_recovers_gold_exactly(spark, kafka, topic, tmp_path):
    paths = LabPaths.under(tmp_path)
    send(kafka, topic, _orders())
    gold_checkpoint = paths.checkpoint("gold")
    with pipeline_process(
        kafka, topic, paths, trigger="1 second", max_offsets_per_trigger=BATCH
    ) as crashing:
        crashing.wait_for_commits(4, query="gold", timeout=300)
        _wait_for(lambda: _merge_in_flight(paths) is not None, 120, "a Gold MERGE under way")
        crashing.kill()  # the MERGE has written its files: its log commit is next, or just done
    in_flight = _merge_in_flight(paths)
    assert in_flight is not None, "killed while a Gold batch's MERGE was writing, uncommitted"
    watermark = batch_history(gold_checkpoint)[-1].watermark
    first_end = datetime(2026, 1, 15, 12, 5)
    last_end = first_end + timedelta(minutes=5 * (WINDOWS - 1))
    assert first_end <= watermark < last_end, "killed with a window evicted and others open"

    run_available_now(spark, kafka, topic, paths, timeout=300)
    bronze = spark.read.format("delta").load(paths.bronze)
    gold = spark.read.format("delta").load(paths.gold)
    assert bronze.count() == EVENTS
    assert_df_equality(gold, gold_windows(bronze), ignore_row_order=True, ignore_nullable=True)
