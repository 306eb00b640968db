"""The framework of the exercise checks: the verdict, the general checks, the answer helpers.

A check looks at an answer and returns a :class:`CheckResult` — passed or not, a message that
says what it saw, and a hint that points towards the fix. A check never raises for a wrong
answer; :class:`labsupport.lesson.Lesson` decides what a failure means (a ✗ line for a learner,
an ``AssertionError`` in CI). An exercise not yet answered holds ``...`` (Ellipsis): every check
reports that as "not answered yet" instead of tripping over it.

General checks: :func:`check_true`, :func:`check_equal`, :func:`check_columns`,
:func:`check_dataframe` (chispa underneath, its diff turned into plain text), and
:func:`finished_query_problem` for an exercise whose answer is a streaming query the learner
started.

Answer helpers, so that every lesson check accepts the same answers: a learner's cell may hold
a Python int or a numpy one (pandas hands those out), a float, a digit string from JSON, a
datetime or Spark's ISO text. :func:`as_whole_number`, :func:`as_number`, :func:`as_offsets`
and :func:`as_utc_naive` turn an answer into the one type the check compares, or None when it
is not one of those; :func:`wrong_type` then words the failure. :func:`within_a_cent` is how
every check compares money.

>>> check_equal(3, 3, "the number of partitions")
CheckResult(passed=True, message='the number of partitions is 3', hint='')
>>> check_equal(..., 3, "the number of partitions").message
'not answered yet: replace the `...` with your answer'
>>> bool(check_true(1 + 1 == 3, "one plus one is three", hint="count again"))
False
>>> as_whole_number(True) is None  # a bool is an int to Python, never an answer here
True
>>> wrong_type("a partition", "2", hint="").message
"a partition is a number (int), got '2' (str)"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from labsupport.checkpoint import batch_ids
from labsupport.contract import CENT, event_time, is_number, is_whole_number
from labsupport.errors import explain_failure

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "NOT_ANSWERED",
    "NUMBER",
    "WHOLE_NUMBER",
    "CheckResult",
    "as_number",
    "as_offsets",
    "as_utc_naive",
    "as_whole_number",
    "check_columns",
    "check_dataframe",
    "check_equal",
    "check_true",
    "copy_problem",
    "finished_query_problem",
    "is_unanswered",
    "source_problem",
    "within_a_cent",
    "wrong_type",
]

#: The message of every check whose answer is still the placeholder ``...``.
NOT_ANSWERED = "not answered yet: replace the `...` with your answer"
#: What :func:`wrong_type` says an answer should be: a whole number, or any number.
WHOLE_NUMBER = "a number (int)"
NUMBER = "a number"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MAX_DIFF_LINES = 30


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: ``passed``, what was seen (``message``), what to try (``hint``).

    Truthy when passed, so ``assert check_equal(...)`` works in a plain test.
    """

    passed: bool
    message: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    @classmethod
    def ok(cls, message: str) -> CheckResult:
        return cls(True, message, "")

    @classmethod
    def fail(cls, message: str, hint: str = "") -> CheckResult:
        return cls(False, message, hint)

    @classmethod
    def not_ready(cls, message: str, fix: str) -> CheckResult:
        """A failure of the lesson's state, not of the answer: the fix goes in the message."""
        return cls(False, f"{message} — {fix}", "")

    @classmethod
    def not_answered(cls, hint: str = "") -> CheckResult:
        """The failure for the ``...`` placeholder: the same message in every check."""
        return cls(False, NOT_ANSWERED, hint)


def is_unanswered(value: object) -> bool:
    """True for the exercise placeholder ``...`` (the learner has not written an answer yet)."""
    return value is Ellipsis


# --- Answer helpers ---------------------------------------------------------------------------------
def as_whole_number(answer: object) -> int | None:
    """``answer`` as an int when it is a whole number (numpy's included), else None.

    A bool is an int to Python but never a count or an id, so it is not one here.

    >>> import numpy as np
    >>> as_whole_number(np.int64(2)), as_whole_number(2.0), as_whole_number("2")
    (2, None, None)
    """
    if is_whole_number(answer):
        return int(answer)
    return None


def as_number(answer: object) -> float | None:
    """``answer`` as a float when it is a real number (ints and numpy's too), else None.

    >>> as_number(3), as_number(0.35), as_number(False), as_number("0.35")
    (3.0, 0.35, None, None)
    """
    if is_number(answer):
        return float(answer)
    return None


def as_offsets(answer: object) -> dict[int, int] | None:
    """``{partition: offset}`` with int keys and values, else None when ``answer`` is no mapping.

    Keys may be digit strings, as JSON (and so a checkpoint's offsets file) writes them; a
    bool value is left out, so the answer then misses that partition.

    >>> as_offsets({"0": 12, "1": 9})
    {0: 12, 1: 9}
    >>> as_offsets([12, 9]) is None, as_offsets({"first": 12}) is None
    (True, True)
    """
    if not isinstance(answer, Mapping):
        return None
    try:
        return {int(k): int(v) for k, v in answer.items() if not isinstance(v, bool)}
    except (TypeError, ValueError):
        return None


def as_utc_naive(value: object) -> datetime | None:
    """A datetime, or Spark's ISO text (``2026-01-15T10:12:00.000Z``), as naive UTC; else None.

    Naive UTC is how Spark returns times in the lab's UTC session, so answers compare with them.

    >>> as_utc_naive("2026-01-15T10:12:00.000Z")
    datetime.datetime(2026, 1, 15, 10, 12)
    >>> as_utc_naive(42) is None
    True
    """
    if isinstance(value, str):
        return event_time(value.strip())
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def within_a_cent(amount: float, expected: float) -> bool:
    """Money answers compare within a cent, so a sum rounded to cents (or printed) is right.

    >>> within_a_cent(3.754, 3.75), within_a_cent(3.77, 3.75)
    (True, False)
    """
    return abs(amount - expected) <= CENT


def wrong_type(subject: str, answer: object, hint: str, kind: str = WHOLE_NUMBER) -> CheckResult:
    """The failure for an answer of the wrong type: "``subject`` is ``kind``, got ``answer``"."""
    return CheckResult.fail(f"{subject} is {kind}, got {answer!r} ({type(answer).__name__})", hint)


# --- General checks -----------------------------------------------------------------------------------
def check_true(condition: object, what: str, hint: str = "") -> CheckResult:
    """Pass when ``condition`` is truthy; ``what`` states the expectation in words.

    >>> check_true(True, "the table has rows").message
    'the table has rows'
    >>> check_true(False, "the table has rows").message
    'expected: the table has rows'
    """
    if is_unanswered(condition):
        return CheckResult.not_answered(hint)
    if condition:
        return CheckResult.ok(what)
    return CheckResult.fail(f"expected: {what}", hint)


def check_equal(actual: object, expected: object, what: str, hint: str = "") -> CheckResult:
    """Pass when ``actual == expected``; the message names ``what`` was compared and both values.

    >>> check_equal("3", 3, "the number of partitions").message
    "the number of partitions: expected 3 (int), got '3' (str)"
    """
    if is_unanswered(actual):
        return CheckResult.not_answered(hint)
    if actual == expected:
        return CheckResult.ok(f"{what} is {expected!r}")
    if type(actual) is not type(expected):
        return CheckResult.fail(
            f"{what}: expected {expected!r} ({type(expected).__name__}), "
            f"got {actual!r} ({type(actual).__name__})",
            hint,
        )
    return CheckResult.fail(f"{what}: expected {expected!r}, got {actual!r}", hint)


def check_columns(
    df: DataFrame, expected_columns: Iterable[str], *, ordered: bool = False, hint: str = ""
) -> CheckResult:
    """Pass when ``df`` has exactly ``expected_columns`` (in that order when ``ordered``).

    The message lists what is missing and what is extra, which is what a learner needs to fix a
    ``select``.
    """
    if is_unanswered(df):
        return CheckResult.not_answered(hint)
    if not hasattr(df, "columns"):
        return CheckResult.fail(f"expected a DataFrame, got {type(df).__name__}", hint)
    actual = list(df.columns)
    expected = list(expected_columns)
    missing = [c for c in expected if c not in actual]
    extra = [c for c in actual if c not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        return CheckResult.fail(f"columns: {'; '.join(parts)}", hint)
    if ordered and actual != expected:
        return CheckResult.fail(
            f"columns in the wrong order: expected {expected}, got {actual}", hint
        )
    return CheckResult.ok(f"columns are {', '.join(actual)}")


def check_dataframe(
    actual: DataFrame,
    expected: DataFrame,
    *,
    what: str = "the DataFrame",
    ignore_row_order: bool = True,
    ignore_column_order: bool = False,
    ignore_nullable: bool = True,
    precision: float | None = None,
    hint: str = "",
) -> CheckResult:
    """Pass when two DataFrames hold the same schema and rows (chispa compares them).

    Row order is ignored by default (a streaming result has none); give ``precision`` to compare
    doubles approximately (sums and averages of prices). On a difference, chispa's table of rows
    or schema fields becomes the message, without terminal colours and at most 30 lines.
    """
    if is_unanswered(actual):
        return CheckResult.not_answered(hint)
    if not hasattr(actual, "schema"):
        return CheckResult.fail(f"{what}: expected a DataFrame, got {type(actual).__name__}", hint)
    try:
        from chispa import (
            DataFramesNotEqualError,
            SchemasNotEqualError,
            assert_approx_df_equality,
            assert_df_equality,
        )
    except ImportError:  # pragma: no cover - chispa ships with the lab's extras
        from labsupport.errors import LabError

        raise LabError("chispa is not installed: run `make setup`.") from None
    ignore = {
        "ignore_row_order": ignore_row_order,
        "ignore_column_order": ignore_column_order,
        "ignore_nullable": ignore_nullable,
    }
    try:
        if precision is None:
            # a column's metadata (e.g. the watermark delay withWatermark notes on its column)
            # is not what a learner is graded on
            assert_df_equality(actual, expected, ignore_metadata=True, **ignore)
        else:
            assert_approx_df_equality(actual, expected, precision, **ignore)
    except SchemasNotEqualError as error:
        return CheckResult.fail(f"{what} has a different schema:\n{_plain(error)}", hint)
    except DataFramesNotEqualError as error:
        return CheckResult.fail(f"{what} has different rows:\n{_plain(error)}", hint)
    return CheckResult.ok(f"{what} matches the expected rows")


def _plain(error: Exception) -> str:
    """chispa's message without ANSI colours, trimmed to a readable length."""
    lines = _ANSI.sub("", str(error)).strip("\n").splitlines()
    if len(lines) > _MAX_DIFF_LINES:
        lines = [*lines[:_MAX_DIFF_LINES], f"... ({len(lines) - _MAX_DIFF_LINES} more lines)"]
    return "\n".join(lines)


def finished_query_problem(
    answer: object, checkpoint: str, hint: str, timeout: float = 120.0
) -> CheckResult | None:
    """None when ``answer`` is a started query that finished by itself, committing to ``checkpoint``.

    Otherwise the verdict that says what is wrong: not a query, a failure (in one line), still
    running after ``timeout`` seconds (it is stopped: an available-now trigger stops by
    itself), no checkpoint where the exercise asked for it, or a checkpoint without a committed
    batch, or batches that read no record (the query started at the topic's end).
    """
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    if not (hasattr(answer, "awaitTermination") and hasattr(answer, "recentProgress")):
        return CheckResult.fail(
            f"give the started query (what .start() returns), got {type(answer).__name__}", hint
        )
    try:
        finished = answer.awaitTermination(timeout)
    except Exception as error:
        return CheckResult.fail(f"the query failed: {explain_failure(error)}", hint)
    if not finished:
        answer.stop()
        return CheckResult.fail(
            f"the query was still running after {timeout:.0f} s (stopped now): an available-now "
            "trigger processes what is there and stops",
            hint,
        )
    if not batch_ids(checkpoint):
        if not (Path(checkpoint) / "metadata").exists():
            return CheckResult.fail(
                f"no checkpoint at {checkpoint}: give that path as the checkpointLocation", hint
            )
        return CheckResult.fail(f"the query committed no micro-batch: {_NOTHING_READ}", hint)
    if sum(progress["numInputRows"] for progress in answer.recentProgress) == 0:
        return CheckResult.fail(f"the query read no record: {_NOTHING_READ}", hint)
    return None


_NOTHING_READ = (
    'it found nothing to read (startingOffsets "earliest" reads what is already on the topic)'
)


def copy_problem(
    table: DataFrame, offsets: dict[int, tuple[int, int]], hint: str
) -> CheckResult | None:
    """None when ``table`` holds each Kafka record once: ``partition`` and ``offset`` as Kafka's.

    ``offsets`` is the topic's ``{partition: (first, end)}`` (``labsupport.topics.topic_offsets``);
    otherwise the verdict names the first partition with a record twice or one missing.
    """
    from pyspark.sql import functions as F

    held = {
        row.partition: (row.records, row.distinct, row.first, row.last)
        for row in table.groupBy("partition")
        .agg(
            F.count("*").alias("records"),
            F.countDistinct("offset").alias("distinct"),
            F.min("offset").alias("first"),
            F.max("offset").alias("last"),
        )
        .collect()
    }
    for partition, (first, end) in sorted(offsets.items()):
        expected = end - first
        records, distinct, low, high = held.get(partition, (0, 0, None, None))
        if records != distinct:
            return CheckResult.fail(
                f"partition {partition}: {records - distinct} records twice", hint
            )
        if records != expected or (expected and (low, high) != (first, end - 1)):
            return CheckResult.fail(
                f"partition {partition}: the table holds {records} of its {expected} records "
                '(startingOffsets "earliest" reads them all)',
                hint,
            )
    return None


def source_problem(query: object, expected: str, hint: str) -> CheckResult | None:
    """None when every batch of ``query`` that read rows read a source named ``expected...``.

    Spark's progress names each source (``KafkaV2[Subscribe[...]]``, ``DeltaSource[file:...]``):
    this tells a stream from a Delta table apart from one from Kafka.
    """
    progress = [p for p in getattr(query, "recentProgress", []) if p["numInputRows"] > 0]
    names = {source["description"].split("[")[0] for p in progress for source in p["sources"]}
    if names and all(name.startswith(expected) for name in names):
        return None
    shown = ", ".join(sorted(names)) or "nothing"
    return CheckResult.fail(f"your query read {shown}; this stream reads a {expected}", hint)


def function_problem(answer: object, signature: str, hint: str) -> CheckResult | None:
    """None when ``answer`` is a function; else the verdict: the placeholder, or not a function.

    ``signature`` is how the exercise names it, e.g. ``"def last_watermark(query)"``.
    """
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    if callable(answer):
        return None
    return CheckResult.fail(f"give the function itself ({signature}: ...), got {answer!r}", hint)


def load_table(spark: SparkSession, path: str, hint: str) -> DataFrame | CheckResult:
    """The Delta table at ``path``, or the verdict that there is none (the reason in one line)."""
    try:
        return spark.read.format("delta").load(path)
    except Exception as error:
        return CheckResult.fail(f"no Delta table at {path}: {explain_failure(error)}", hint)
