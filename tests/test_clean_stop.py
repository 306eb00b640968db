"""Stopping the pipeline mid-batch is quiet: no stack trace, no ERROR line, no failed query.

A stop interrupts whatever the running micro-batch is doing — Gold's aggregation or its MERGE
in ``foreachBatch``, a Delta write. Spark treats that as a stop, not a failure, but only once
it recognises the interruption; before the lab reported it briefly
(``runner.stopped_mid_batch_reported_briefly``), a stop during Gold printed a page of
``StackOverflowError`` from Spark's own check. Here the pipeline runs as ``python -m labsupport
pipeline run`` in its own process, gets Ctrl-C (SIGINT, the driver only) while a Gold batch is
in flight, and everything it printed is read.
"""

from __future__ import annotations

import os
import signal

import pytest

from labsupport.config import LabPaths
from labsupport.pipeline_process import pipeline_process
from producer import produce_events

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.slow]


def test_ctrl_c_during_a_gold_batch_stops_the_pipeline_without_an_error(kafka, topic, tmp_path):
    produce_events(kafka, topic, rate=50_000, count=20_000, seed=3, progress=False)
    paths = LabPaths.under(tmp_path)
    with pipeline_process(kafka, topic, paths, max_offsets_per_trigger=5_000) as pipeline:
        pipeline.wait_for_commits(1, query="gold", timeout=240)
        in_flight = pipeline.wait_for_batch_in_flight(query="gold", timeout=60)
        assert in_flight is not None, "no Gold batch started after the first one"
        os.kill(pipeline.pid, signal.SIGINT)  # the driver only: it stops its queries itself
        exit_code = pipeline.process.wait(120)
        printed = pipeline.log_file.read_text(errors="replace")
    assert exit_code == 0, printed[-3000:]
    assert "Stopping the queries (Ctrl-C)" in printed
    for alarm in ("Exception in thread", "StackOverflowError", " ERROR ", "Traceback"):
        assert alarm not in printed, f"{alarm!r} printed on a clean stop:\n{printed[-3000:]}"
