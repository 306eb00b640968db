"""Checks of lesson 05, Gold windowed aggregation: one window's revenue, the final output mode,
and the Gold query the learner writes (update mode through foreachBatch and MERGE)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    NUMBER,
    CheckResult,
    as_number,
    as_utc_naive,
    function_problem,
    is_unanswered,
    within_a_cent,
    wrong_type,
)
from labsupport.config import WATERMARK_DELAY, WINDOW, WINDOW_DURATION
from labsupport.predict import (
    Phases,
    predict_gold,
    predict_watermarks,
    read_event,
    sliding_windows_of,
)
from labsupport.schema import GOLD_KEY, GOLD_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "check_final_output_mode",
    "check_my_gold",
    "check_sliding_revenue",
    "check_window_revenue",
]


def _total(df: DataFrame, column: str) -> float:
    """The sum of ``column`` over ``df`` (0.0 for no rows)."""
    from pyspark.sql import functions as F

    return float(df.agg(F.sum(column)).first()[0] or 0.0)


def check_window_revenue(
    answer: Any,
    spark: SparkSession,
    bronze_path: str,
    gold_path: str,
    region: str,
    window_start: Any,
) -> CheckResult:
    """Exercise 05.1: total revenue of ``region`` in the window starting at ``window_start``,
    computed from Bronze, equal (within a cent) to the sum of that window's Gold rows."""
    from pyspark.sql import functions as F

    hint = (
        'from Bronze: keep event_type == "ORDER_PLACED", the region, and event times in '
        f"[start, start + {WINDOW_DURATION}); count a re-sent copy once (dropDuplicates on order_id, "
        "customer_id, quantity, total_price), then sum total_price"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    start = as_utc_naive(window_start)
    end = start + WINDOW
    gold = spark.read.format("delta").load(gold_path)
    expected = _total(
        gold.filter((F.col("region") == region) & (F.col("window_start") == start)),
        "total_revenue",
    )
    if expected == 0.0:
        return CheckResult.not_ready(
            f"Gold has no row for {region} in the window at {start}", "run the cells above first"
        )
    revenue = as_number(answer)
    if revenue is None:
        return wrong_type("the revenue", answer, hint, kind=NUMBER)
    if within_a_cent(revenue, expected):
        return CheckResult.ok(f"{region}, {start:%H:%M}–{end:%H:%M}: {expected:.2f}, as in Gold")
    events = (
        spark.read.format("delta")
        .load(bronze_path)
        .filter(
            (F.col("region") == region)
            & (F.col("event_timestamp") >= start)
            & (F.col("event_timestamp") < end)
        )
    )
    placed = events.filter(F.col("event_type") == "ORDER_PLACED")
    if within_a_cent(revenue, round(_total(placed, "total_price"), 2)):
        return CheckResult.fail(
            f"{revenue:.2f} counts the re-sent copies twice; Gold counts each order once "
            f"({expected:.2f})",
            hint,
        )
    if within_a_cent(revenue, round(_total(events, "total_price"), 2)):
        return CheckResult.fail(
            f"{revenue:.2f} includes cancellations and updates; Gold sums ORDER_PLACED only",
            hint,
        )
    return CheckResult.fail(f"expected {expected:.2f} (Gold), got {revenue:.2f}", hint)


def check_final_output_mode(answer: Any) -> CheckResult:
    """Exercise 05.2: the output mode that writes a window only once it is final: ``"append"``."""
    hint = (
        "one mode writes a window early and again at every change, one rewrites every window "
        "each batch, one waits until the watermark has passed the window's end"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    mode = answer.strip().lower() if isinstance(answer, str) else answer
    if mode == "append":
        return CheckResult.ok(
            "append: a window is written once, after the watermark passes its end — final, "
            f"but at least {WATERMARK_DELAY} late"
        )
    if mode == "update":
        return CheckResult.fail(
            "update writes a window at every batch that changes it: early, then revised", hint
        )
    if mode == "complete":
        return CheckResult.fail("complete rewrites every window at every batch, final or not", hint)
    return CheckResult.fail(
        f"the output modes are append, update and complete; got {answer!r}", hint
    )


# --- Exercise 05.3: Gold, written by the learner -------------------------------------------------
def _by_key(rows: Sequence[Any]) -> dict[tuple, dict[str, Any]]:
    """Gold rows (Spark ``Row`` objects or dicts) by their key."""
    as_dicts = [row.asDict() if hasattr(row, "asDict") else dict(row) for row in rows]
    return {tuple(row.get(k) for k in GOLD_KEY): row for row in as_dicts}


def _key_text(key: tuple) -> str:
    return f"{key[0]:%H:%M} {key[1]} {key[2]}"


def _diagnose_gold(mine: dict[tuple, dict], phases: Phases) -> str | None:
    """Name the typical mistake that explains ``mine``, or None (then chispa shows the rows)."""
    expected = _by_key(predict_gold(phases))
    if not mine:
        return (
            "your Gold table is empty: the foreachBatch function must MERGE each batch into the "
            "table (and the query must read the events)"
        )
    days = {key[0].date() for key in expected}
    if not {key[0].date() for key in mine} & days:
        return (
            "your windows are not on the events' day: window on the event time "
            '"event_timestamp", not on the time a record is processed'
        )
    everything = _by_key(predict_gold([[record for phase in phases for record in phase]]))
    if set(mine) == set(everything) and all(
        within_a_cent(mine[key]["total_revenue"], row["total_revenue"])
        for key, row in everything.items()
    ):
        return (
            "your Gold counts the event the watermark drops: without withWatermark(...) nothing "
            f"is ever too late; with it, check its column and its delay ({WATERMARK_DELAY})"
        )
    watermark = predict_watermarks([*phases, []])[-1]
    final = {key for key in expected if watermark is not None and key[0] + WINDOW <= watermark}
    if set(mine) == final and final != set(expected):
        return (
            f"your Gold holds only the windows that are final (end ≤ the watermark {watermark:%H:%M}):"
            ' that is append mode. Gold is fresh: outputMode("update")'
        )
    larger = [
        _key_text(key)
        for key, row in mine.items()
        if key in expected and row["order_count"] > expected[key]["order_count"]
    ]
    if larger:
        return (
            f"these windows count more orders than they hold: {', '.join(larger[:3])}. Does your "
            "MERGE add to the old row? Update mode emits a window's full new values, so "
            "whenMatchedUpdateAll() overwrites. Or is a re-sent copy counted twice? (a set of "
            "orders counts it once)"
        )
    return None


def check_my_gold(
    answer: Any,
    spark: SparkSession,
    phases: Phases,
    root: Path | str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 05.3: the learner's ``start_my_gold(events, gold_path, checkpoint)``, run phase by phase.

    The function gets a streaming DataFrame of events (Bronze's columns), the path of an empty
    Gold table and a checkpoint path, and returns its started available-now query. The check
    runs it once per phase of ``phases`` (:func:`labsupport.phased.run_phases`) and compares the
    table with :func:`labsupport.predict.predict_gold`, row by row (chispa, money to a cent).
    The phases make the usual mistakes visible: a window updated in two batches (a MERGE that
    adds), a late event (no watermark), windows not final yet (append mode), a re-sent order.
    """
    hint = (
        'events.filter(ORDER_PLACED).withWatermark("event_timestamp", "10 minutes")'
        '.groupBy(F.window("event_timestamp", "5 minutes"), "region", "product_category")'
        '.agg(F.collect_set(F.struct(...)).alias("orders")), then gold_from_orders(...); '
        'writeStream.outputMode("update").foreachBatch(upsert) where upsert MERGEs on the key '
        "(whenMatchedUpdateAll, whenNotMatchedInsertAll), the checkpoint, availableNow"
    )
    problem = function_problem(answer, "def start_my_gold(events, gold_path, checkpoint)", hint)
    if problem is not None:
        return problem
    from delta.tables import DeltaTable

    from labsupport.checks.core import check_dataframe
    from labsupport.errors import explain_failure
    from labsupport.phased import run_phases

    gold_path, checkpoint = str(Path(root) / "gold"), str(Path(root) / "checkpoint")

    def empty_gold() -> None:
        DeltaTable.createIfNotExists(spark).location(gold_path).addColumns(GOLD_SCHEMA).execute()

    try:
        run_phases(
            spark, phases, root, lambda events: answer(events, gold_path, checkpoint),
            setup=empty_gold, timeout=timeout,
        )  # fmt: skip
    except Exception as error:
        return CheckResult.fail(f"running your function failed: {explain_failure(error)}", hint)
    if not (Path(checkpoint) / "commits").is_dir():
        return CheckResult.fail(
            f"nothing was committed at {checkpoint}: give it as the checkpointLocation", hint
        )
    written = spark.read.format("delta").load(gold_path)
    problem = _diagnose_gold(_by_key(written.collect()), phases)
    if problem is not None:
        return CheckResult.fail(problem, hint)
    expected = spark.createDataFrame(predict_gold(phases), GOLD_SCHEMA)
    verdict = check_dataframe(
        written.select(*GOLD_SCHEMA.fieldNames()) if set(written.columns) >= set(GOLD_SCHEMA.fieldNames()) else written,
        expected, what="your Gold table", precision=0.01, hint=hint,
    )  # fmt: skip
    if not verdict:
        return verdict
    return CheckResult.ok(
        f"{len(phases)} micro-batches MERGEd into {written.count()} Gold rows, each as Spark's "
        "rule predicts: the late event dropped, the re-sent orders counted once"
    )


# --- Exercise 05.4: a sliding window ----------------------------------------------------------------
SLIDING_LENGTH, SLIDING_SLIDE = WINDOW * 2, WINDOW  # 10-minute windows, a new one every 5 minutes


def _sliding_revenue(phases: Phases) -> dict[tuple[datetime, str], float]:
    """``{(window start, region): revenue}`` of 10-minute windows sliding by 5, by Spark's rule.

    The watermark of each batch is lesson 04's; each of an event's two windows is judged on its
    own: dropped when its end is at or before the watermark.
    """
    from labsupport.contract import event_time
    from labsupport.schema import ORDER_PLACED

    revenue: dict[tuple[datetime, str], float] = defaultdict(float)
    for phase, watermark in zip(phases, predict_watermarks(phases), strict=True):
        for record in phase:
            event, reasons = read_event(record)
            if event is None or reasons or event["event_type"] != ORDER_PLACED:
                continue
            moment = event_time(event["event_timestamp"])
            for start, end in sliding_windows_of(moment, SLIDING_LENGTH, SLIDING_SLIDE):
                if watermark is None or end > watermark:
                    revenue[(start, event["region"])] += event["total_price"]
    return dict(revenue)


def check_sliding_revenue(
    answer: Any,
    spark: SparkSession,
    phases: Phases,
    root: Path | str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 05.4: the learner's ``sliding_revenue(events)``, run as a stream phase by phase.

    Revenue per region in 10-minute windows sliding every 5 minutes, with Gold's 10-minute
    watermark. Run like exercise 04.4 (update mode, the last value of each window kept) and
    compared, to a cent, with the rule applied to each of an event's two windows.
    """
    hint = (
        'ORDER_PLACED, withWatermark("event_timestamp", "10 minutes"), groupBy(F.window('
        '"event_timestamp", "10 minutes", "5 minutes"), "region"), agg(F.sum("total_price"))'
    )
    problem = function_problem(answer, "def sliding_revenue(events)", hint)
    if problem is not None:
        return problem
    from labsupport.errors import explain_failure
    from labsupport.phased import run_in_update_mode

    def key(row: dict[str, Any]) -> tuple:
        return ((row.get("window") or {}).get("start"), row.get("region"))

    try:
        collected = run_in_update_mode(spark, answer, phases, root, key=key, timeout=timeout)
    except Exception as error:
        return CheckResult.fail(f"running your function failed: {explain_failure(error)}", hint)
    rows = list(collected.rows.values())
    if not rows or not isinstance(rows[0].get("window"), dict) or "region" not in rows[0]:
        shown = ", ".join(rows[0]) if rows else "no rows at all"
        return CheckResult.fail(f'group by the window and "region"; your result has {shown}', hint)
    lengths = {row["window"]["end"] - row["window"]["start"] for row in rows}
    if lengths != {SLIDING_LENGTH}:
        shown = ", ".join(sorted(f"{length}" for length in lengths))
        return CheckResult.fail(f"your windows last {shown}; these are 10 minutes long", hint)
    numbers = [
        k for k, v in rows[0].items() if k not in ("window", "region") and as_number(v) is not None
    ]
    if len(numbers) != 1:
        return CheckResult.fail(
            f"return the window, the region and one revenue column, got {', '.join(rows[0])}", hint
        )
    mine = {key(row): float(row[numbers[0]]) for row in rows}
    expected = _sliding_revenue(phases)
    if set(mine) == set(expected) and all(within_a_cent(mine[k], expected[k]) for k in expected):
        return CheckResult.ok(
            f"{len(expected)} (window, region) rows, each event in two windows, each window "
            "judged on its own against the watermark"
        )
    starts = {k[0].minute % 10 for k in mine}
    if len(starts) == 1 and len({k[0].minute % 10 for k in expected}) > 1:
        return CheckResult.fail(
            "your windows start every 10 minutes: give the slide, the third argument of "
            'F.window (every "5 minutes")',
            hint,
        )
    wrong = [
        f"{start:%H:%M} {region}: {mine.get((start, region), 0.0):.2f}, not "
        f"{expected.get((start, region), 0.0):.2f}"
        for start, region in sorted(set(mine) | set(expected))
        if not within_a_cent(mine.get((start, region), 0.0), expected.get((start, region), 0.0))
    ]
    return CheckResult.fail(
        f"{'; '.join(wrong[:4])} — is the watermark there, before the groupBy, with "
        f"{WATERMARK_DELAY}?",
        hint,
    )
