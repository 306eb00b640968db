"""Checks of lesson 04, event time and watermarks: which late events count, the last watermark,
three micro-batches predicted, and a watermarked windowed count the learner writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    CheckResult,
    as_utc_naive,
    as_whole_number,
    function_problem,
    is_unanswered,
)
from labsupport.config import WATERMARK_DELAY, WINDOW_DURATION
from labsupport.predict import clock, counts_in_gold, predict_fates, predict_watermarks, window_of

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "check_counts_in_gold",
    "check_last_watermark",
    "check_orders_per_window",
    "check_window_prediction",
]


def check_counts_in_gold(answer: Any, event_times: Any, watermark: Any) -> CheckResult:
    """Exercise 04.1: for each event time, whether an ORDER_PLACED event at it counts in Gold
    when its micro-batch runs with ``watermark`` (a list of booleans, in the same order).

    Graded with :func:`labsupport.predict.counts_in_gold`, the rule ``tests/test_predict.py``
    checks against Spark: the event counts when its 5-minute window *ends after* the watermark.
    """
    hint = (
        "find each event's 5-minute window (10:00, 10:05, ...): the event counts when the "
        "window's END is later than the watermark — not when the event itself is"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    times = [as_utc_naive(t) for t in event_times]
    mark = as_utc_naive(watermark)
    expected = [counts_in_gold(t, mark) for t in times]
    if not isinstance(answer, (list, tuple)) or not all(isinstance(a, bool) for a in answer):
        return CheckResult.fail(
            f"the answer is a list of {len(times)} booleans (True/False), got {answer!r}", hint
        )
    if len(answer) != len(times):
        return CheckResult.fail(
            f"{len(times)} event times, so {len(times)} answers; got {len(answer)}", hint
        )
    if list(answer) == expected:
        return CheckResult.ok(
            f"watermark {clock(mark)}: "
            + ", ".join(
                f"{clock(t)} {'counts' if e else 'dropped'}"
                for t, e in zip(times, expected, strict=True)
            )
        )
    naive = [t > mark for t in times]
    wrong = [
        f"{clock(t)} (window ends {window_of(t)[1]:%H:%M:%S}: {'counts' if e else 'too late'})"
        for t, a, e in zip(times, answer, expected, strict=True)
        if a != e
    ]
    if list(answer) == naive:
        return CheckResult.fail(
            "you compared each event time with the watermark; Spark compares the event's window "
            f"end. Wrong: {'; '.join(wrong)}",
            hint,
        )
    return CheckResult.fail(f"not quite — wrong: {'; '.join(wrong)}", hint)


def check_last_watermark(answer: Any, *queries: Any) -> CheckResult:
    """Exercise 04.2: ``answer`` is a function ``last_watermark(query)`` that reads the watermark
    of a query's last micro-batch from its progress.

    It runs on every query of ``queries`` (they ran with different watermarks, so no value
    copied from a table above fits them all). A result may be the text as Spark reports it
    (``"2026-01-15T10:12:00.000Z"``) or an equal datetime.
    """
    hint = (
        'query.lastProgress is a dict: its "eventTime" entry holds "watermark" (and "max", the '
        "newest event time, which is not the watermark)"
    )
    problem = function_problem(answer, "def last_watermark(query)", hint)
    if problem is not None:
        return problem
    seen = []
    for query in queries:
        progress = getattr(query, "lastProgress", None)
        if not progress or "watermark" not in (progress.get("eventTime") or {}):
            return CheckResult.not_ready(
                "a query has no progress with a watermark yet", "run the cells above first"
            )
        event_time = progress["eventTime"]
        try:
            result = answer(query)
        except Exception as error:
            return CheckResult.fail(
                f"your function failed on query {query.name}: {type(error).__name__}: {error}", hint
            )
        got = as_utc_naive(result)
        if got is None or got != as_utc_naive(event_time["watermark"]):
            said = (
                f"{query.name}: its last batch ran with {event_time['watermark']}, got {result!r}"
            )
            maxima = [
                p["eventTime"]["max"] for p in query.recentProgress if "max" in p["eventTime"]
            ]
            if got is not None and got in {as_utc_naive(m) for m in maxima}:
                said = f"{query.name}: {result} is the newest event time (max), not the watermark"
            return CheckResult.fail(said, hint)
        seen.append(f"{query.name} batch {progress['batchId']}: {event_time['watermark']}")
    return CheckResult.ok("right for every query — " + "; ".join(seen))


# --- Exercises 04.3 and 04.4: three micro-batches, predicted and then run -------------------------
def _phases(batches: Sequence[Sequence[str]]) -> list[list[dict[str, Any]]]:
    """The exercise's times of day as phases of ORDER_PLACED events (one order per time)."""
    from labsupport.phased import orders_at

    return [orders_at(times, tag=f"lesson-04/{n}") for n, times in enumerate(batches)]


def _counted_per_window(phases: Sequence[Sequence[dict[str, Any]]]) -> dict[datetime, int]:
    """``{window start: orders counted}`` by the lab's rule (:func:`labsupport.predict.predict_fates`)."""
    counted = Counter(
        fate["window"][0] for fate in predict_fates(phases) if fate["fate"] == "counted"
    )
    return dict(sorted(counted.items()))


def _as_window_counts(answer: Any, day: datetime) -> dict[datetime, int] | None:
    """``{"10:05": 2, ...}`` (or datetime keys) → ``{window start: count}``; None if it is not one."""
    if not hasattr(answer, "items"):
        return None
    counts: dict[datetime, int] = {}
    for key, value in answer.items():
        if isinstance(key, str):
            try:
                moment = datetime.combine(day.date(), datetime.strptime(key, "%H:%M").time())
            except ValueError:
                return None
        else:
            moment = as_utc_naive(key)
        count = as_whole_number(value)
        if moment is None or count is None:
            return None
        if count:
            counts[moment] = count
    return counts


def _window_table(counts: dict[datetime, int]) -> str:
    return ", ".join(f"{start:%H:%M} {n}" for start, n in sorted(counts.items())) or "nothing"


def _differences(mine: dict[datetime, int], expected: dict[datetime, int]) -> str:
    return "; ".join(
        f"window {start:%H:%M}: {mine.get(start, 0)}, not {expected.get(start, 0)}"
        for start in sorted(set(mine) | set(expected))
        if mine.get(start, 0) != expected.get(start, 0)
    )


def check_window_prediction(answer: Any, batches: Sequence[Sequence[str]]) -> CheckResult:
    """Exercise 04.3: how many orders each 5-minute window counts after the three micro-batches.

    ``batches`` holds each micro-batch's event times (``"10:02"``); ``answer`` maps a window's
    start (``"10:05"`` or a datetime) to its count. Graded with the lab's rule.
    """
    hint = (
        "batch 1 runs without a watermark; each later batch runs with (newest event time of the "
        f"batches before) − {WATERMARK_DELAY}, and an event counts when its window ENDS after "
        "that watermark. Write the watermark of batches 2 and 3 down first"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    phases = _phases(batches)
    expected = _counted_per_window(phases)
    day = min(expected)
    counts = _as_window_counts(answer, day)
    if counts is None:
        return CheckResult.fail(
            'the answer is a dict from window start to count, e.g. {"10:00": 2, "10:05": 1}, '
            f"got {answer!r}",
            hint,
        )
    marks = ", ".join(clock(w) for w in predict_watermarks(phases))
    if counts == expected:
        return CheckResult.ok(f"watermarks per batch: {marks}; counted: {_window_table(expected)}")
    everything = _counted_per_window([[event for phase in phases for event in phase]])
    if counts == everything:
        return CheckResult.fail(
            "that counts every event: a watermark drops some of the late ones", hint
        )
    return CheckResult.fail(f"not quite — {_differences(counts, expected)}", hint)


def check_orders_per_window(
    answer: Any,
    spark: SparkSession,
    batches: Sequence[Sequence[str]],
    root: Path | str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 04.4: the learner's ``orders_per_window(events)``, run as a stream, batch by batch.

    The function takes a streaming DataFrame of events (Bronze's columns) and returns the
    watermarked count per 5-minute window. The check writes each batch of ``batches`` to a
    Delta table under ``root`` and runs the function on it available-now in update mode after
    each (:func:`labsupport.phased.run_phases`), keeping the last count each window was given,
    and compares with the lab's rule: a missing or wrong watermark, or a window on processing
    time, shows as a window with another count.
    """
    hint = (
        'events.filter(F.col("event_type") == "ORDER_PLACED").withWatermark("event_timestamp", '
        f'"{WATERMARK_DELAY}").groupBy(F.window("event_timestamp", "{WINDOW_DURATION}")).count()'
    )
    problem = function_problem(answer, "def orders_per_window(events)", hint)
    if problem is not None:
        return problem
    from labsupport.errors import explain_failure
    from labsupport.phased import run_in_update_mode

    phases = _phases(batches)
    try:
        collected = run_in_update_mode(
            spark, answer, phases, root, key=lambda row: (row.get("window") or {}).get("start"),
            timeout=timeout,
        )  # fmt: skip
    except Exception as error:
        return CheckResult.fail(f"running your function failed: {explain_failure(error)}", hint)
    rows = list(collected.rows.values())
    if not rows or not isinstance(rows[0].get("window"), dict):
        columns = ", ".join(rows[0]) if rows else "no rows at all"
        return CheckResult.fail(
            f'the result needs the "window" column of F.window(...) and a count; got {columns}',
            hint,
        )
    numbers = [k for k, v in rows[0].items() if k != "window" and as_whole_number(v) is not None]
    if len(numbers) != 1:
        return CheckResult.fail(
            f"return the window and one count column, got {', '.join(rows[0])}", hint
        )
    mine = {row["window"]["start"]: int(row[numbers[0]]) for row in rows}
    mine = {start: n for start, n in mine.items() if n}
    expected = _counted_per_window(phases)
    if mine == expected:
        return CheckResult.ok(
            f"{len(phases)} micro-batches, the same counts as Spark's rule: {_window_table(mine)}"
        )
    if not set(mine) & set(expected):
        return CheckResult.fail(
            f"your windows start at {_window_table(mine)}: window on the event time "
            '"event_timestamp", not on the time the record was received or processed',
            hint,
        )
    everything = _counted_per_window([[event for phase in phases for event in phase]])
    if mine == everything:
        return CheckResult.fail(
            "your query counted every late event: without withWatermark(...) before the "
            "groupBy nothing is ever too late (and the state is never dropped)",
            hint,
        )
    return CheckResult.fail(
        f"{_differences(mine, expected)} — check the watermark's column and delay "
        f"({WATERMARK_DELAY}) and the window's length ({WINDOW_DURATION})",
        hint,
    )
