"""Checks of lesson 02, parsing and validating: the reasons the pipeline gives invalid records."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from labsupport.checks.core import CheckResult, as_whole_number, is_unanswered, wrong_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["check_multi_reason_count", "check_reasons_for"]


def check_multi_reason_count(answer: Any, validated: DataFrame) -> CheckResult:
    """Exercise 02.1: how many records of ``validated`` broke more than one rule.

    ``validated`` is the output of :func:`labsupport.pipeline.validate_events` (a ``reasons``
    array per record, empty for a valid event).
    """
    hint = (
        'F.size("reasons") is the number of rules a record broke: filter on it being greater '
        "than 1, then .count()"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    from pyspark.sql import functions as F

    sizes = (
        validated.select(F.size("reasons").alias("n"))
        .groupBy()
        .agg(
            F.count("*").alias("records"),
            F.sum(F.when(F.col("n") > 0, 1).otherwise(0)).alias("invalid"),
            F.sum(F.when(F.col("n") > 1, 1).otherwise(0)).alias("several"),
        )
        .first()
    )
    expected, invalid = int(sizes.several or 0), int(sizes.invalid or 0)
    count = as_whole_number(answer)
    if count is None:
        return wrong_type("the answer", answer, hint)
    if count == expected:
        return CheckResult.ok(
            f"{expected} of the {invalid} invalid records broke more than one rule"
        )
    if count == invalid:
        return CheckResult.fail(
            f"{count} is every invalid record (at least one reason); expected {expected} with "
            "more than one",
            hint,
        )
    return CheckResult.fail(
        f"records with more than one reason: expected {expected}, got {count}", hint
    )


def _reasons_of(spark: SparkSession, value: bytes) -> list[str]:
    """The reasons the pipeline gives one Kafka value, through the very lesson functions."""
    from labsupport.pipeline import validate_records

    records = spark.createDataFrame(
        [(None, bytearray(value), "check", 0, 0, datetime.now(timezone.utc))],
        "key binary, value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    return list(validate_records(records).first().reasons)


def check_reasons_for(answer: Any, spark: SparkSession, value: bytes) -> CheckResult:
    """Exercise 02.2: ``answer`` is the list of reasons the pipeline gives the record ``value``.

    The expected reasons come from running ``decode_records → parse_events → validate_events``
    on that one value; the order of the reasons does not matter.
    """
    hint = (
        "run the value through validate_values(...) (section 3) and read .first().reasons — a "
        "list of strings, exactly as the pipeline words them"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    expected = _reasons_of(spark, value)
    if isinstance(answer, str):
        return CheckResult.fail(
            f"give a list of reasons (strings), got one string {answer!r}", hint
        )
    try:
        given = [str(reason) for reason in answer]
    except TypeError:
        return CheckResult.fail(
            f"give a list of reasons (strings), got {type(answer).__name__}", hint
        )
    if sorted(given) == sorted(expected):
        shown = "; ".join(expected) if expected else "none: it is a valid event"
        return CheckResult.ok(f"the pipeline's reasons: {shown}")
    missing = [reason for reason in expected if reason not in given]
    extra = [reason for reason in given if reason not in expected]
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"not a reason the pipeline gives this record: {extra}")
    return CheckResult.fail("; ".join(parts) or f"expected {expected}, got {given}", hint)
