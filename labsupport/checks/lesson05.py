"""Checks of lesson 05, Gold windowed aggregation: one window's revenue, the final output mode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    NUMBER,
    CheckResult,
    as_number,
    as_utc_naive,
    is_unanswered,
    within_a_cent,
    wrong_type,
)
from labsupport.config import WATERMARK_DELAY, WINDOW, WINDOW_DURATION

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["check_final_output_mode", "check_window_revenue"]


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
        return CheckResult.fail(
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
