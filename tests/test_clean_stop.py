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
import re
import signal

import pytest

from labsupport.config import LabPaths
from labsupport.pipeline_process import pipeline_process
from labsupport.runner import StoppedMidBatch, stopped_mid_batch_reported_briefly
from producer import produce_events

#: Spark's own test (``StreamExecution.PROXY_ERROR``) for a Python function stopped by a stop.
SPARK_PROXY_ERROR = re.compile(
    r"py4j.protocol.Py4JJavaError: An error occurred while calling((.|\r\n|\r|\n)*)"
    r"(java.lang.InterruptedException|java.io.InterruptedIOException|"
    r"java.nio.channels.ClosedByInterruptException)"
)


def test_an_interrupted_batch_is_reported_in_a_line_spark_reads_as_a_stop():
    page = "An error occurred while calling o42.execute.\n" + "\tat x.y(Z.java:1)\n" * 2000
    with pytest.raises(StoppedMidBatch) as stopped, stopped_mid_batch_reported_briefly():
        raise RuntimeError(page + "Caused by: java.lang.InterruptedException")
    assert len(str(stopped.value)) < 200
    assert SPARK_PROXY_ERROR.search(f"{type(stopped.value).__name__}: {stopped.value}")
    # anything else passes through as it is
    with pytest.raises(ValueError, match="a real failure"), stopped_mid_batch_reported_briefly():
        raise ValueError("a real failure")


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
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
