"""Predict, run, compare: lesson 04's loop, and Gold next to what :mod:`labsupport.predict` expected.

"Predict, run, compare" is how lessons 04 and 05 teach the watermark: write down what Gold will
hold (:func:`labsupport.predict.predict_gold`), run the real pipeline, and compare row by row
(:func:`gold_comparison`). :func:`predict_run_compare` does all three for a recorded scenario,
phase by phase, each phase one available-now run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import SparkSession

from labsupport.checks.core import within_a_cent
from labsupport.config import WINDOW, KafkaSettings, LabPaths
from labsupport.predict import fates_frame, predict_fates, predict_gold, scenario_phases
from labsupport.runner import Pipeline, run_available_now
from labsupport.schema import GOLD_KEY
from labsupport.topics import starting_offsets_json, topic_end_offsets

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["gold_comparison", "predict_run_compare"]


def _same_row(mine: Mapping[str, Any] | None, theirs: Mapping[str, Any] | None) -> bool:
    """Equal rows; money may differ by a cent (a float sum in another order can round the other way)."""
    if mine is None or theirs is None or set(mine) != set(theirs):
        return False
    money = ("total_revenue", "avg_order_value")
    return all(
        within_a_cent(mine[k], theirs[k]) if k in money else mine[k] == theirs[k] for k in mine
    )


def gold_comparison(
    spark: SparkSession, gold_path: str, predicted: Sequence[Mapping[str, Any]]
) -> tuple[pd.DataFrame, bool]:
    """Gold as Spark wrote it next to the prediction, one row per window, region and category.

    Returns the table (``order_count`` and ``total_revenue``, predicted and in Gold, and whether
    the whole row matches — money to the cent) and True when every row matches.
    """
    import pandas as pd

    actual = {
        tuple(row[k] for k in GOLD_KEY): row.asDict()
        for row in spark.read.format("delta").load(gold_path).collect()
    }
    expected = {tuple(row[k] for k in GOLD_KEY): dict(row) for row in predicted}
    rows = []
    for key in sorted(set(actual) | set(expected)):
        mine, theirs = expected.get(key), actual.get(key)
        rows.append(
            {
                "window": f"{key[0]:%H:%M}–{key[0] + WINDOW:%H:%M}",
                "region": key[1],
                "product_category": key[2],
                "predicted orders": mine["order_count"] if mine else None,
                "Gold orders": theirs["order_count"] if theirs else None,
                "predicted revenue": mine["total_revenue"] if mine else None,
                "Gold revenue": theirs["total_revenue"] if theirs else None,
                "same": _same_row(mine, theirs),
            }
        )
    table = pd.DataFrame(rows)
    return table, bool(rows) and all(table["same"])


def predict_run_compare(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    scenario: Any,
    root: Path | str,
    *,
    replay: Callable[..., object],
    timeout: float = 180.0,
) -> tuple[LabPaths, list[Pipeline]]:
    """Lesson 04's loop for one recorded scenario, in its own tables and checkpoints under ``root``.

    1. **predict**: print what :func:`labsupport.predict.predict_fates` says each record becomes,
       and the Gold rows :func:`~labsupport.predict.predict_gold` expects;
    2. **run**: for each phase, send it to ``topic`` with ``replay(settings, topic, scenario,
       phase=n)`` — the producer's ``replay_scenario`` — and run the pipeline available-now (a
       new checkpoint starts at the topic's current end, so records sent before are not read);
    3. **compare**: print Gold next to the prediction.

    ``scenario`` is a recorded scenario (``producer.load_scenario(name)``). Returns the paths
    and the runs (one :class:`Pipeline` per phase, for their progress).
    """
    phases = scenario_phases(scenario)
    print(f"Scenario {scenario.name}: {scenario.description}\n")
    print("PREDICTED fates:")
    print(fates_frame(predict_fates(phases)).drop(columns=["reason"]).to_string(index=False))
    predicted = predict_gold(phases)
    paths = LabPaths.under(root)
    starting = starting_offsets_json(topic, topic_end_offsets(settings, topic))
    runs = []
    for number in range(1, len(phases) + 1):
        replay(settings, topic, scenario, phase=number)
        # Bronze and Gold only: the comparison and the picture read nothing else
        run = run_available_now(
            spark, settings, topic, paths,
            starting_offsets=starting, queries=("bronze", "gold"), timeout=timeout,
        )  # fmt: skip
        runs.append(run)
        watermark = (run.gold.lastProgress or {}).get("eventTime", {}).get("watermark")
        print(f"\nphase {number} replayed and processed; Gold's watermark now {watermark}")
    table, same = gold_comparison(spark, paths.gold, predicted)
    print("\nPREDICTED vs GOLD:")
    print(table.to_string(index=False))
    print("\n✓ Gold is exactly as predicted" if same else "\n✗ Gold differs from the prediction")
    return paths, runs
