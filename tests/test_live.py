"""Watching a running stream: Gold alone on a processing-time trigger, fed by a background producer.

Real Kafka, real Spark: the live view of lesson 04 must show batches arrive, the watermark follow
the newest event time 10 minutes behind, and late windows dropped — then stop, producer and all.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from labsupport.charts import progress_chart
from labsupport.config import LabPaths
from labsupport.errors import LabError
from labsupport.live import watch
from labsupport.runner import start_pipeline
from producer import produce_in_background


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
def test_watch_shows_the_watermark_following_a_live_feed(spark, kafka, topic, tmp_path):
    paths = LabPaths.under(tmp_path)
    with start_pipeline(
        spark, kafka, topic, paths,
        trigger="1 second", starting_offsets="latest", queries=("gold",),
    ) as pipeline:  # fmt: skip
        with produce_in_background(kafka, topic, rate=40, seed=3, late_fraction=0.4) as feed:
            table = watch(
                pipeline.gold,
                seconds=150,
                stop_when=lambda t: len(t) >= 3 and t["dropped_by_watermark"].sum() > 0,
            )
        pipeline.process_all_available()
    assert not pipeline.gold.isActive, "leaving the block stops the stream"
    assert pipeline.bronze is None and pipeline.quarantine is None
    assert not Path(paths.checkpoint("bronze")).exists(), "only the chosen query ran"
    assert feed.stats is not None and feed.stats.acknowledged == feed.stats.sent > 0

    assert len(table) >= 3 and table["dropped_by_watermark"].sum() > 0, table
    watermarks = pd.to_datetime(table["watermark"])
    assert watermarks.is_monotonic_increasing
    # a batch's watermark is the newest event time of the batches before it, minus 10 minutes
    earlier = pd.to_datetime(table["max_event_time"].iloc[:-1]).max()
    assert watermarks.iloc[-1] == earlier - pd.Timedelta(minutes=10)
    figure = progress_chart(table)
    assert len(figure.axes) == 2


def test_start_pipeline_refuses_an_unknown_query_before_touching_spark():
    with pytest.raises(LabError, match="queries must name some of bronze, quarantine, gold"):
        start_pipeline(None, None, "any-topic", queries=("silver",))  # type: ignore[arg-type]
