"""Checks of lesson 02, parsing and validating: the reasons the pipeline gives invalid records,
and a parse and rule the learner writes (events stamped too far ahead of the broker's clock)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    CheckResult,
    as_whole_number,
    check_dataframe,
    function_problem,
    is_unanswered,
    wrong_type,
)
from labsupport.errors import explain_failure
from labsupport.schema import EVENT_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["check_future_events", "check_multi_reason_count", "check_reasons_for"]


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


#: When the made-up records of :func:`check_future_events` reached the broker.
_RECEIVED = datetime(2024, 3, 1, 12, 0)
_FUTURE_COLUMNS = ["kafka_offset", "event_timestamp", "kafka_ingest_ts"]
_FIELDS = {"order_id": "o-1", "customer_id": "c-1", "product_id": "p-1", "product_name": "Lamp",
           "product_category": "Home", "quantity": 1, "unit_price": 9.5, "total_price": 9.5,
           "event_type": "ORDER_PLACED", "region": "eu-west"}  # fmt: skip


def _future_cases(tolerance: timedelta) -> list[tuple[bytes, datetime | None]]:
    """Values to test the rule on, each with its event time (None when it has none).

    Events well before and just after the receipt time, at the tolerance exactly, just past it,
    a year ahead; a value that is not JSON and an event without a timestamp.
    """
    offsets = [-timedelta(hours=1), timedelta(0), tolerance / 2, tolerance,
               tolerance + timedelta(minutes=1), timedelta(days=365)]  # fmt: skip
    cases: list[tuple[bytes, datetime | None]] = []
    for offset in offsets:
        moment = _RECEIVED + offset
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        cases.append((json.dumps({**_FIELDS, "event_timestamp": stamp}).encode(), moment))
    cases.append((b"order 17, three lamps", None))
    cases.append((json.dumps(_FIELDS).encode(), None))
    assert [field.name for field in EVENT_SCHEMA.fields if field.name not in _FIELDS] == [
        "event_timestamp"
    ], "the made-up events carry every field of the contract"
    return cases


def check_future_events(answer: Any, spark: SparkSession, tolerance: timedelta) -> CheckResult:
    """Exercise 02.3: ``answer(decoded)`` keeps the records stamped more than ``tolerance`` ahead.

    ``answer`` is the learner's function from ``decode_records`` output to a DataFrame with
    ``kafka_offset``, ``event_timestamp`` and ``kafka_ingest_ts``. It runs on made-up records
    received at a fixed moment in the past; which of them are "from the future" is worked out
    here in plain Python, and chispa compares the rows.
    """
    hint = (
        'parse with F.from_json("value_text", EVENT_SCHEMA), then keep the rows where '
        "event.event_timestamp > kafka_ingest_ts + F.lit(tolerance) — the broker's clock, not "
        "current_timestamp()"
    )
    problem = function_problem(answer, "def from_the_future(decoded)", hint)
    if problem is not None:
        return problem
    from labsupport.pipeline import decode_records

    cases = _future_cases(tolerance)
    records = spark.createDataFrame(
        [(None, bytearray(value), "check", 0, offset, _RECEIVED.replace(tzinfo=timezone.utc))
         for offset, (value, _) in enumerate(cases)],
        "key binary, value binary, topic string, partition int, offset long, timestamp timestamp",
    )  # fmt: skip
    try:
        result = answer(decode_records(records))
        if not hasattr(result, "columns"):
            return CheckResult.fail(
                f"the function returned {type(result).__name__}, not a DataFrame", hint
            )
        missing = [column for column in _FUTURE_COLUMNS if column not in result.columns]
        if missing:
            return CheckResult.fail(
                f"the result has no column {', '.join(missing)} (it has {result.columns})", hint
            )
        rows = result.select(*_FUTURE_COLUMNS)
        got = sorted(row.kafka_offset for row in rows.collect())
    except Exception as error:  # the learner's code failed: say how, in one line
        return CheckResult.fail(f"the function failed: {explain_failure(error)}", hint)
    ahead = [offset for offset, (_, moment) in enumerate(cases)
             if moment is not None and moment - _RECEIVED > tolerance]  # fmt: skip
    at_tolerance = next(o for o, (_, m) in enumerate(cases) if m == _RECEIVED + tolerance)
    if not got:
        return CheckResult.fail(
            f"no record kept; expected offsets {ahead}. These records reached the broker in "
            "2024: compare event_timestamp with kafka_ingest_ts, not with today's clock",
            hint,
        )
    if at_tolerance in got and at_tolerance not in ahead:
        return CheckResult.fail(
            f"offset {at_tolerance} is exactly {tolerance} ahead: *more than* the tolerance "
            "means >, not >=",
            hint,
        )
    expected = spark.createDataFrame(
        [(offset, cases[offset][1], _RECEIVED) for offset in ahead],
        "kafka_offset long, event_timestamp timestamp, kafka_ingest_ts timestamp",
    )
    verdict = check_dataframe(rows, expected, what="the records from the future", hint=hint)
    if verdict:
        return CheckResult.ok(
            f"offsets {ahead} are more than {tolerance} ahead of the broker; the one at "
            "exactly the tolerance, the early ones and those without a time are not"
        )
    return verdict
