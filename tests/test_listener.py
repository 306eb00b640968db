"""The progress listener against a real stream: Spark pushes started, progress and terminated."""

from __future__ import annotations

import pytest

from labsupport.config import LabPaths
from labsupport.listener import listening, watch_events
from labsupport.runner import run_available_now
from producer import produce_events
from tests.conftest import fresh_topic

pytestmark = [pytest.mark.kafka, pytest.mark.spark]


def test_the_listener_hears_every_batch_of_a_query(spark, kafka, tmp_path):
    with fresh_topic(kafka, "test-listener") as topic:
        produce_events(kafka, topic, rate=5_000, count=30, seed=8, progress=False)
        with listening(spark) as listener:
            run = run_available_now(
                spark, kafka, topic, LabPaths.under(tmp_path), queries=("bronze",),
                max_offsets_per_trigger=10,
            )  # fmt: skip
            table = watch_events(  # the terminated event arrives on Spark's listener thread
                listener,
                seconds=20,
                every=0.2,
                stop_when=lambda t: "terminated" in set(t.get("event", [])),
            )
    events = list(table["event"])
    assert events[0] == "started" and events[-1] == "terminated"
    progress = table[table["event"] == "progress"]
    assert progress["rows"].sum() == 30 == sum(p["numInputRows"] for p in run.bronze.recentProgress)
    assert list(progress["batch"]) == sorted(progress["batch"]) and len(progress) >= 3
    assert set(table["query"]) == {run.bronze.name}
    assert table["error"].dropna().empty
