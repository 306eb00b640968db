"""Checks of lesson 04, event time and watermarks: which late events count, the last watermark."""

from __future__ import annotations

from typing import Any

from labsupport.checks.core import CheckResult, as_utc_naive, is_unanswered
from labsupport.predict import clock, counts_in_gold, window_of

__all__ = ["check_counts_in_gold", "check_last_watermark"]


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


def check_last_watermark(answer: Any, query: Any) -> CheckResult:
    """Exercise 04.2: the watermark of the last micro-batch of ``query``, read from its progress.

    Accepts the text as Spark reports it (``"2026-01-15T10:12:00.000Z"``) or an equal datetime.
    """
    hint = (
        'query.lastProgress is a dict: its "eventTime" entry holds "watermark" (and "max", the '
        "newest event time, which is not the watermark)"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    progress = getattr(query, "lastProgress", None)
    if not progress or "watermark" not in (progress.get("eventTime") or {}):
        return CheckResult.fail(
            "this query has no progress with a watermark yet", "run the cells above first"
        )
    event_time = progress["eventTime"]
    got = as_utc_naive(answer)
    if got is not None and got == as_utc_naive(event_time["watermark"]):
        return CheckResult.ok(
            f"batch {progress['batchId']} ran with watermark {event_time['watermark']}"
        )
    if got is not None and got == as_utc_naive(event_time.get("max")):
        return CheckResult.fail(
            f"{answer} is the newest event time of that batch (max), not its watermark", hint
        )
    return CheckResult.fail(
        f"the last batch's watermark is {event_time['watermark']}, got {answer!r}", hint
    )
