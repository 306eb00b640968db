"""The lessons' pictures draw what happened: each is checked against the data it claims to show.

``windows_on_a_line`` against :mod:`labsupport.predict`; ``emitted_by_mode`` (the data of lesson
05's append-vs-update picture) against the rule and :func:`predict_gold`, on real Spark;
the checkpoint pictures against the files of a real Bronze run on a real Kafka topic.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import matplotlib
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle

from labsupport.charts import emitted_chart, windows_on_a_line
from labsupport.checkpoint import batch_history, start_offsets
from labsupport.checkpoint_charts import batch_steps, checkpoint_sequence_chart, offset_ranges_chart
from labsupport.config import LabPaths
from labsupport.output_modes import emitted_by_mode
from labsupport.phased import orders_at
from labsupport.predict import predict_fates, predict_gold, predict_watermarks, scenario_phases
from labsupport.runner import run_available_now
from producer import load_scenario, produce_events

matplotlib.use("Agg")

LESSON_05_PHASES = [
    *scenario_phases(load_scenario("duplicates")),
    *scenario_phases(load_scenario("too_late")),
    orders_at(["10:41"], tag="closing"),
]


def _key(row: dict) -> tuple:
    return (row["window_start"], row["region"], row["product_category"])


def test_windows_on_a_line_closes_exactly_the_windows_the_rule_closes():
    phases = scenario_phases(load_scenario("too_late"))
    ax = windows_on_a_line(phases)
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    watermarks = predict_watermarks(phases)
    fates = predict_fates(phases)
    tiles_per_row = len(ax.patches) // len(phases)
    low = min(f["window"][0] for f in fates if f["window"])
    closed = sum(
        1
        for watermark in watermarks
        if watermark is not None
        for tile in range(tiles_per_row)
        if low + timedelta(minutes=5 * (tile + 1)) <= watermark
    )
    assert len(hatched) == closed == 2  # 10:00 and 10:05 end at or before the watermark 10:12
    events = [c for c in ax.collections if isinstance(c, PathCollection)]  # one dot per event
    assert len(events) == sum(f["event_type"] == "ORDER_PLACED" for f in fates) == 7
    red = [
        c for c in events if tuple(c.get_facecolor()[0][:3]) == matplotlib.colors.to_rgb("tab:red")
    ]
    assert len(red) == sum(f["fate"] == "dropped_late" for f in fates) == 1


@pytest.mark.spark
def test_append_emits_each_window_once_when_final_update_emits_every_change(spark, tmp_path):
    emitted = emitted_by_mode(spark, LESSON_05_PHASES, tmp_path)
    expected = {_key(row): row for row in predict_gold(LESSON_05_PHASES)}

    update_last: dict[tuple, dict] = {}
    for batch in emitted["update"]:
        update_last.update({_key(row): row for row in batch.rows})
    assert {k: r["order_count"] for k, r in update_last.items()} == {
        k: r["order_count"] for k, r in expected.items()
    }

    appended = [_key(row) for batch in emitted["append"] for row in batch.rows]
    assert len(appended) == len(set(appended)), "append mode emits a window once"
    final_watermark = max(w for w in predict_watermarks(LESSON_05_PHASES) if w is not None)
    closed = {k for k, row in expected.items() if row["window_end"] <= final_watermark}
    assert closed <= set(appended) <= set(expected)
    assert sum(len(batch.rows) for batch in emitted["update"]) > len(appended)

    # one data batch per phase; the windows append mode emits come in no-data batches, which
    # Spark runs when the watermark has moved
    for mode, batches in emitted.items():
        assert sum(batch.input_rows > 0 for batch in batches) == len(LESSON_05_PHASES), mode
    assert all(batch.input_rows == 0 for batch in emitted["append"] if batch.rows)

    figure = emitted_chart(emitted)
    assert [ax.get_title().split(" mode")[0] for ax in figure.axes] == ["append", "update"]
    figure.savefig(tmp_path / "modes.png")


@pytest.mark.kafka
@pytest.mark.spark
def test_checkpoint_pictures_draw_the_files_of_a_real_run(spark, kafka, topic, tmp_path):
    produce_events(kafka, topic, rate=5_000, count=90, seed=11, progress=False)
    paths = LabPaths.under(tmp_path)
    run_available_now(spark, kafka, topic, paths, max_offsets_per_trigger=25, queries=("bronze",))
    checkpoint = paths.checkpoint("bronze")
    history = batch_history(checkpoint)
    assert len(history) >= 3
    assert start_offsets(checkpoint) == dict.fromkeys(history[-1].end_offsets, 0)

    ax = offset_ranges_chart(checkpoint)
    read: dict[int, list[tuple[float, float]]] = {}
    for bars in ax.collections:  # one BrokenBarHCollection per (batch, partition) with records
        for path in bars.get_paths():
            xs, ys = path.vertices[:, 0], path.vertices[:, 1]
            read.setdefault(round(ys.mean()), []).append((xs.min(), xs.max()))
    for partition, spans in read.items():
        spans.sort()
        assert spans[0][0] == 0 and spans[-1][1] == history[-1].end_offsets[partition]
        assert all(a[1] == b[0] for a, b in pairwise(spans)), "each batch starts at the last end"

    steps = batch_steps(checkpoint, paths.bronze)
    for batch in history:
        kinds = [s.kind for s in steps if s.batch_id == batch.batch_id]
        assert kinds == ["offsets", "write", "commit"], (batch.batch_id, kinds)

    # a crash between batch 1's table commit and its commits/1: the picture marks batch 1 replayed
    write = next(s.at for s in steps if s.batch_id == 1 and s.kind == "write")
    commit = next(s.at for s in steps if s.batch_id == 1 and s.kind == "commit")
    figure = checkpoint_sequence_chart(checkpoint, paths.bronze, write + (commit - write) / 2)
    notes = [t.get_text() for t in figure.axes[1].texts]
    assert notes == [
        "batch 1 replayed with its planned offsets — Delta skipped its write (txn seen)"
    ]
    figure.savefig(tmp_path / "sequence.png")
    ax.figure.savefig(tmp_path / "offsets.png")
