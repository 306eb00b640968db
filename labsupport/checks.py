"""Exercise checks: the same functions grade a learner's notebook and run in pytest.

A check looks at an answer and returns a :class:`CheckResult` — passed or not, a message that
says what it saw, and a hint that points towards the fix. A check never raises for a wrong
answer; :class:`labsupport.lesson.Lesson` decides what a failure means (a ✗ line for a learner,
an ``AssertionError`` in CI). An exercise not yet answered holds ``...`` (Ellipsis): every check
reports that as "not answered yet" instead of tripping over it.

General building blocks: :func:`check_true`, :func:`check_equal`, :func:`check_columns`,
:func:`check_dataframe` (chispa underneath, its diff turned into plain text). Lesson checks
(named after what they check) build on them; lesson authors add theirs here, each with a test in
``tests/test_checks.py`` that shows it rejects a wrong answer and accepts the solution.

>>> check_equal(3, 3, "the number of partitions")
CheckResult(passed=True, message='the number of partitions is 3', hint='')
>>> check_equal(..., 3, "the number of partitions").message
'not answered yet: replace the `...` with your answer'
>>> bool(check_true(1 + 1 == 3, "one plus one is three", hint="count again"))
False
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from labsupport.config import KafkaSettings

__all__ = [
    "NOT_ANSWERED",
    "CheckResult",
    "check_columns",
    "check_dataframe",
    "check_delta_roundtrip",
    "check_equal",
    "check_spark_setting",
    "check_topic_partitions",
    "check_true",
    "is_unanswered",
]

#: The message of every check whose answer is still the placeholder ``...``.
NOT_ANSWERED = "not answered yet: replace the `...` with your answer"
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


def is_unanswered(value: object) -> bool:
    """True for the exercise placeholder ``...`` (the learner has not written an answer yet)."""
    return value is Ellipsis


def _unanswered(hint: str) -> CheckResult:
    return CheckResult.fail(NOT_ANSWERED, hint)


# --- General building blocks ---------------------------------------------------------------------
def check_true(condition: object, what: str, hint: str = "") -> CheckResult:
    """Pass when ``condition`` is truthy; ``what`` states the expectation in words.

    >>> check_true(True, "the table has rows").message
    'the table has rows'
    >>> check_true(False, "the table has rows").message
    'expected: the table has rows'
    """
    if is_unanswered(condition):
        return _unanswered(hint)
    if condition:
        return CheckResult.ok(what)
    return CheckResult.fail(f"expected: {what}", hint)


def check_equal(actual: object, expected: object, what: str, hint: str = "") -> CheckResult:
    """Pass when ``actual == expected``; the message names ``what`` was compared and both values.

    >>> check_equal("3", 3, "the number of partitions").message
    "the number of partitions: expected 3 (int), got '3' (str)"
    """
    if is_unanswered(actual):
        return _unanswered(hint)
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
        return _unanswered(hint)
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
        return _unanswered(hint)
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
    try:
        if precision is None:
            assert_df_equality(
                actual,
                expected,
                ignore_row_order=ignore_row_order,
                ignore_column_order=ignore_column_order,
                ignore_nullable=ignore_nullable,
            )
        else:
            assert_approx_df_equality(
                actual,
                expected,
                precision,
                ignore_row_order=ignore_row_order,
                ignore_column_order=ignore_column_order,
                ignore_nullable=ignore_nullable,
            )
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


# --- Lesson 00: setup check and tour -------------------------------------------------------------
def check_topic_partitions(answer: Any, settings: KafkaSettings, topic: str) -> CheckResult:
    """Exercise 00.1: ``answer`` is the number of partitions of ``topic``, asked of the broker.

    The expected value comes from the real broker (confluent-kafka's AdminClient), not from a
    constant, so the check holds for any topic.
    """
    hint = (
        "AdminClient(lesson.kafka.client_config()).list_topics(topic=lesson.topic, timeout=10) "
        "returns cluster metadata; .topics[lesson.topic].partitions is a dict with one entry "
        "per partition."
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient(settings.client_config()).list_topics(topic=topic, timeout=10)
    described = metadata.topics.get(topic)
    if described is None or described.error is not None:
        return CheckResult.fail(
            f"the broker does not know topic {topic}",
            "run the cell with lesson.ensure_broker() first: it creates the lesson's topic",
        )
    return check_equal(answer, len(described.partitions), f"partitions of {topic}", hint)


def check_spark_setting(answer: Any, spark: SparkSession, key: str) -> CheckResult:
    """Exercise 00.2: ``answer`` is the value of the Spark setting ``key`` in the running session."""
    hint = f'spark.conf.get("{key}") reads a setting of the running session'
    if is_unanswered(answer):
        return _unanswered(hint)
    expected = spark.conf.get(key, None)
    if expected is None:
        return CheckResult.fail(f"{key} is not set in this Spark session", hint)
    return check_equal(answer, expected, key, hint)


def check_delta_roundtrip(df: Any, path: str, spark: SparkSession, rows: int = 3) -> CheckResult:
    """Exercise 00.3: a ``rows``-row Delta table was written at ``path`` and ``df`` read it back.

    Three things must hold: ``path`` is a Delta table (it has a ``_delta_log``), the table holds
    ``rows`` rows, and ``df`` — the learner's read — has the same rows as the table.
    """
    hint = (
        f'spark.createDataFrame(...) with {rows} rows, then .write.format("delta")'
        '.mode("overwrite").save(path); read it back with spark.read.format("delta").load(path)'
    )
    if is_unanswered(df):
        return _unanswered(hint)
    from delta.tables import DeltaTable

    if not DeltaTable.isDeltaTable(spark, path):
        return CheckResult.fail(f"no Delta table at {path} (no _delta_log folder there)", hint)
    table = spark.read.format("delta").load(path)
    count = table.count()
    if count != rows:
        return CheckResult.fail(f"the Delta table at {path} has {count} rows, not {rows}", hint)
    same = check_dataframe(df, table, what="the DataFrame you read back", hint=hint)
    if not same:
        return same
    return CheckResult.ok(f"a {rows}-row Delta table at {path}, read back intact")


# --- Lesson 01: producing order events ------------------------------------------------------------
def _whole_number(value: Any) -> bool:
    """An int, numpy's integers included (pandas hands those out), but not a bool."""
    from numbers import Integral

    return isinstance(value, Integral) and not isinstance(value, bool)


def _real_number(value: Any) -> bool:
    from numbers import Real

    return isinstance(value, Real) and not isinstance(value, bool)


def _partitions_of_key(
    settings: KafkaSettings, topic: str, key: str, timeout: float = 30.0
) -> dict[int, int] | None:
    """``{partition: records}`` of every record of ``topic`` whose key is ``key``, read from Kafka.

    Reads each partition from its first to its last offset (bounded by ``timeout``); None when
    the broker does not know the topic.
    """
    import time

    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **settings.client_config(),
            "group.id": "lab-check-key-partition",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        described = consumer.list_topics(topic=topic, timeout=10).topics.get(topic)
        if described is None or described.error is not None:
            return None
        ends: dict[int, int] = {}
        assignments = []
        for partition in sorted(described.partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                ends[partition] = high
                assignments.append(TopicPartition(topic, partition, low))
        found: dict[int, int] = {}
        if not assignments:
            return found
        consumer.assign(assignments)
        wanted = key.encode("utf-8")
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            for message in consumer.consume(500, timeout=0.5):
                if message.error() is not None:
                    continue
                if message.key() == wanted:
                    found[message.partition()] = found.get(message.partition(), 0) + 1
                if message.offset() >= ends.get(message.partition(), 0) - 1:
                    ends.pop(message.partition(), None)
        return found
    finally:
        consumer.close()


def check_key_partition(answer: Any, settings: KafkaSettings, topic: str, key: str) -> CheckResult:
    """Exercise 01.1: ``answer`` is the partition that holds every record keyed ``key``.

    The expected partition is read from the broker: every record of ``topic`` is consumed and
    the partitions of the records with that key are collected (there must be exactly one).
    """
    hint = (
        "the producer keys every event by its order_id, so all of an order's events share one "
        "partition: find a record whose key is that order_id (the `records` table above, or a "
        "Consumer) and take its partition, an int"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    found = _partitions_of_key(settings, topic, key)
    if found is None:
        return CheckResult.fail(
            f"the broker does not know topic {topic}", "run the cells above first"
        )
    if not found:
        return CheckResult.fail(
            f"no record on {topic} has the key {key!r}",
            "run the cells of section 2 first: they produce the events",
        )
    if len(found) > 1:  # pragma: no cover - Kafka's partitioner never does this for one key
        return CheckResult.fail(f"records keyed {key!r} sit in partitions {sorted(found)}", hint)
    ((expected, records),) = found.items()
    if not _whole_number(answer):
        return CheckResult.fail(
            f"a partition is a number (int), got {answer!r} ({type(answer).__name__})", hint
        )
    if int(answer) != expected:
        return CheckResult.fail(
            f"partition of order {key}: expected {expected}, got {answer}", hint
        )
    return CheckResult.ok(
        f"all {records} record{'s' if records != 1 else ''} of order {key} are in partition "
        f"{expected}: same key, same partition"
    )


def check_region_share(answer: Any, events: Any, region: str) -> CheckResult:
    """Exercise 01.2: ``answer`` is the share (0–1) of ``events`` whose region is ``region``.

    ``events`` is the sample the learner was given: a pandas DataFrame with a ``region`` column
    (or a list of event dicts). The share is compared within 0.001.
    """
    hint = (
        f'(events["region"] == "{region}").mean() — the number of {region} events divided by '
        "the number of events: a fraction between 0 and 1"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    regions = (
        list(events["region"]) if hasattr(events, "columns") else [e["region"] for e in events]
    )
    if not regions:
        return CheckResult.fail("the sample holds no events", "run the cells above first")
    matching = sum(value == region for value in regions)
    expected = matching / len(regions)
    if not _real_number(answer):
        return CheckResult.fail(
            f"the share is a number between 0 and 1, got {answer!r} ({type(answer).__name__})", hint
        )
    answer = float(answer)
    if abs(answer - expected) <= 0.001:
        from labsupport.schema import REGION_WEIGHTS

        weight = REGION_WEIGHTS.get(region)
        design = f" (the design's weight is {weight:.2f})" if weight is not None else ""
        return CheckResult.ok(
            f"{matching} of {len(regions)} events are {region}: a share of {expected:.3f}{design}"
        )
    if abs(answer - 100 * expected) <= 0.1:
        return CheckResult.fail(
            f"{answer:g} is a percentage; give the share as a fraction ({expected:.3f})", hint
        )
    if answer == matching:
        return CheckResult.fail(
            f"{answer:g} is the number of {region} events; divide by the {len(regions)} events",
            hint,
        )
    from labsupport.schema import REGION_WEIGHTS

    if region in REGION_WEIGHTS and abs(answer - REGION_WEIGHTS[region]) <= 1e-9:
        return CheckResult.fail(
            f"{answer:g} is the design's weight for {region}; measure the sample instead", hint
        )
    return CheckResult.fail(
        f"share of {region} events: expected {expected:.3f}, got {answer:.3f}", hint
    )


# --- Lesson 02: parsing and validating ------------------------------------------------------------
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
        return _unanswered(hint)
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
    if not _whole_number(answer):
        return CheckResult.fail(
            f"the answer is a number (int), got {answer!r} ({type(answer).__name__})", hint
        )
    if int(answer) == expected:
        return CheckResult.ok(
            f"{expected} of the {invalid} invalid records broke more than one rule"
        )
    if int(answer) == invalid:
        return CheckResult.fail(
            f"{answer} is every invalid record (at least one reason); expected {expected} with "
            "more than one",
            hint,
        )
    return CheckResult.fail(
        f"records with more than one reason: expected {expected}, got {answer}", hint
    )


def _reasons_of(spark: SparkSession, value: bytes) -> list[str]:
    """The reasons the pipeline gives one Kafka value, through the very lesson functions."""
    from datetime import datetime, timezone

    from labsupport.pipeline import decode_records, parse_events, validate_events

    records = spark.createDataFrame(
        [(None, bytearray(value), "check", 0, 0, datetime.now(timezone.utc))],
        "key binary, value binary, topic string, partition int, offset long, timestamp timestamp",
    )
    return list(validate_events(parse_events(decode_records(records))).first().reasons)


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
        return _unanswered(hint)
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


# --- Lesson 03: Bronze ingestion ------------------------------------------------------------------
def check_bronze_region_rows(
    answer: Any, spark: SparkSession, bronze_path: str, region: str
) -> CheckResult:
    """Exercise 03.1: the number of rows of the Bronze table at ``bronze_path`` for ``region``."""
    hint = (
        f'spark.read.format("delta").load(lesson.paths.bronze), then .where(F.col("region") == '
        f'"{region}").count()'
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    from pyspark.sql import functions as F

    bronze = spark.read.format("delta").load(bronze_path)
    counts = (
        bronze.groupBy()
        .agg(
            F.count("*").alias("rows"),
            F.sum(F.when(F.col("region") == region, 1).otherwise(0)).alias("matching"),
        )
        .first()
    )
    expected, rows = int(counts.matching or 0), int(counts.rows or 0)
    if not _whole_number(answer):
        return CheckResult.fail(
            f"the answer is a number (int), got {answer!r} ({type(answer).__name__})", hint
        )
    if int(answer) == expected:
        return CheckResult.ok(f"Bronze holds {expected} {region} rows of {rows}")
    if int(answer) == rows and rows != expected:
        return CheckResult.fail(
            f"{answer} is every row of Bronze; keep only region {region} ({expected} rows)", hint
        )
    return CheckResult.fail(f"Bronze rows for {region}: expected {expected}, got {answer}", hint)


def _rows_added_per_version(spark: SparkSession, table_path: str) -> dict[int, int]:
    """``{version: rows written}`` from the table's history (``operationMetrics.numOutputRows``)."""
    from delta.tables import DeltaTable

    history = DeltaTable.forPath(spark, table_path).history().select("version", "operationMetrics")
    added = {}
    for row in history.collect():
        metrics = row.operationMetrics or {}
        added[int(row.version)] = int(metrics.get("numOutputRows", 0) or 0)
    return dict(sorted(added.items()))


def check_version_most_rows(answer: Any, spark: SparkSession, table_path: str) -> CheckResult:
    """Exercise 03.2: the Delta version of ``table_path`` whose commit wrote the most rows.

    Read from the table's history (each commit's ``operationMetrics.numOutputRows``); when two
    versions tie, either is right.
    """
    hint = (
        "DeltaTable.forPath(spark, path).history() has one row per version; its "
        'operationMetrics map holds "numOutputRows" (a string: int(...) it). Answer the version '
        "(an int), not the number of rows"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    added = _rows_added_per_version(spark, table_path)
    most = max(added.values(), default=0)
    if most == 0:
        return CheckResult.fail(
            f"no version of {table_path} wrote any rows yet", "run the cells above first"
        )
    best = [version for version, rows in added.items() if rows == most]
    if not _whole_number(answer):
        return CheckResult.fail(
            f"a version is a number (int), got {answer!r} ({type(answer).__name__})", hint
        )
    answer = int(answer)
    if answer in best:
        return CheckResult.ok(f"version {answer} added {most} rows, the most of any commit")
    if answer == most and answer not in added:
        return CheckResult.fail(
            f"{answer} is the number of rows; the question asks which version added them", hint
        )
    if answer in added:
        return CheckResult.fail(
            f"version {answer} added {added[answer]} rows; version {best[0]} added {most}", hint
        )
    return CheckResult.fail(f"the table has versions {min(added)}–{max(added)}, not {answer}", hint)


# --- Lesson 04: event time and watermarks --------------------------------------------------------
def _as_utc_naive(value: Any) -> Any:
    """A datetime or Spark's ISO text (``2026-01-15T10:12:00.000Z``) → naive UTC; else unchanged."""
    from datetime import datetime, timezone

    if isinstance(value, str):
        text = value.strip()
        text = text[:-1] + "+00:00" if text.endswith("Z") else text
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def check_counts_in_gold(answer: Any, event_times: Any, watermark: Any) -> CheckResult:
    """Exercise 04.1: for each event time, whether an ORDER_PLACED event at it counts in Gold
    when its micro-batch runs with ``watermark`` (a list of booleans, in the same order).

    Graded with :func:`labsupport.predict.counts_in_gold`, the rule ``tests/test_predict.py``
    checks against Spark: the event counts when its 5-minute window *ends after* the watermark.
    """
    from labsupport.predict import counts_in_gold, window_of

    hint = (
        "find each event's 5-minute window (10:00, 10:05, ...): the event counts when the "
        "window's END is later than the watermark — not when the event itself is"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    times = [_as_utc_naive(t) for t in event_times]
    mark = _as_utc_naive(watermark)
    expected = [counts_in_gold(t, mark) for t in times]
    if not isinstance(answer, (list, tuple)) or not all(isinstance(a, bool) for a in answer):
        return CheckResult.fail(
            f"the answer is a list of {len(times)} booleans (True/False), got {answer!r}", hint
        )
    if len(answer) != len(times):
        return CheckResult.fail(
            f"{len(times)} event times, so {len(times)} answers; got {len(answer)}", hint
        )

    def clock(moment: Any) -> str:
        return f"{moment:%H:%M:%S}" + (
            f".{moment.microsecond // 1000:03d}" if moment.microsecond else ""
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
        return _unanswered(hint)
    progress = getattr(query, "lastProgress", None)
    if not progress or "watermark" not in (progress.get("eventTime") or {}):
        return CheckResult.fail(
            "this query has no progress with a watermark yet", "run the cells above first"
        )
    event_time = progress["eventTime"]
    expected = _as_utc_naive(event_time["watermark"])
    got = _as_utc_naive(answer)
    if got == expected:
        return CheckResult.ok(
            f"batch {progress['batchId']} ran with watermark {event_time['watermark']}"
        )
    if "max" in event_time and got == _as_utc_naive(event_time["max"]):
        return CheckResult.fail(
            f"{answer} is the newest event time of that batch (max), not its watermark", hint
        )
    return CheckResult.fail(
        f"the last batch's watermark is {event_time['watermark']}, got {answer!r}", hint
    )


# --- Lesson 05: Gold windowed aggregation ---------------------------------------------------------
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
    from datetime import timedelta

    from pyspark.sql import functions as F

    hint = (
        'from Bronze: keep event_type == "ORDER_PLACED", the region, and event times in '
        "[start, start + 5 min); count a re-sent copy once (dropDuplicates on order_id, "
        "customer_id, quantity, total_price), then sum total_price"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    start = _as_utc_naive(window_start)
    gold = spark.read.format("delta").load(gold_path)
    mine = gold.filter((F.col("region") == region) & (F.col("window_start") == start))
    expected = float(mine.agg(F.sum("total_revenue")).first()[0] or 0.0)
    if expected == 0.0:
        return CheckResult.fail(
            f"Gold has no row for {region} in the window at {start}", "run the cells above first"
        )
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return CheckResult.fail(
            f"the revenue is a number, got {answer!r} ({type(answer).__name__})", hint
        )
    if abs(answer - expected) <= 0.01:
        return CheckResult.ok(f"{region}, {start:%H:%M}–{start + timedelta(minutes=5):%H:%M}: "
                              f"{expected:.2f}, as in Gold")  # fmt: skip
    events = (
        spark.read.format("delta")
        .load(bronze_path)
        .filter(
            (F.col("region") == region)
            & (F.col("event_timestamp") >= start)
            & (F.col("event_timestamp") < start + timedelta(minutes=5))
        )
    )

    def total(df) -> float:
        return round(float(df.agg(F.sum("total_price")).first()[0] or 0.0), 2)

    placed = events.filter(F.col("event_type") == "ORDER_PLACED")
    if abs(answer - total(placed)) <= 0.01:
        return CheckResult.fail(
            f"{answer:.2f} counts the re-sent copies twice; Gold counts each order once "
            f"({expected:.2f})",
            hint,
        )
    if abs(answer - total(events)) <= 0.01:
        return CheckResult.fail(
            f"{answer:.2f} includes cancellations and updates; Gold sums ORDER_PLACED only",
            hint,
        )
    return CheckResult.fail(f"expected {expected:.2f} (Gold), got {answer:.2f}", hint)


def check_final_output_mode(answer: Any) -> CheckResult:
    """Exercise 05.2: the output mode that writes a window only once it is final: ``"append"``."""
    hint = (
        "one mode writes a window early and again at every change, one rewrites every window "
        "each batch, one waits until the watermark has passed the window's end"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    mode = answer.strip().lower() if isinstance(answer, str) else answer
    if mode == "append":
        return CheckResult.ok(
            "append: a window is written once, after the watermark passes its end — final, "
            "but at least 10 minutes late"
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


# --- Lesson 06: checkpoints and exactly once -----------------------------------------------------
def _checkpoint_position(checkpoint: str) -> tuple[int | None, int | None, dict[int, int]]:
    """(last committed batch, last planned batch, partition → end offset of the committed one).

    Read straight from the files, independently of :mod:`labsupport.observe`: ``commits/N``
    marks batch N done; ``offsets/N`` holds a version line, a metadata line, then per source
    ``{topic: {partition: first offset not read}}``.
    """
    import json
    from pathlib import Path

    root = Path(checkpoint)

    def ids(log: str) -> list[int]:
        return sorted(int(p.name) for p in (root / log).glob("[0-9]*") if p.name.isdigit())

    commits, planned = ids("commits"), ids("offsets")
    if not commits:
        return None, (planned[-1] if planned else None), {}
    offsets: dict[int, int] = {}
    for line in (root / "offsets" / str(commits[-1])).read_text().splitlines()[2:]:
        for partitions in json.loads(line).values():
            offsets.update({int(p): int(o) for p, o in partitions.items()})
    return commits[-1], planned[-1], dict(sorted(offsets.items()))


def _int_keyed(answer: Any) -> dict[int, int] | None:
    """``{partition: offset}`` with int keys and values (``"0"`` keys accepted), else None."""
    from collections.abc import Mapping

    if not isinstance(answer, Mapping):
        return None
    try:
        return {int(k): int(v) for k, v in answer.items() if not isinstance(v, bool)}
    except (TypeError, ValueError):
        return None


def check_last_commit(last_batch: Any, end_offsets: Any, checkpoint: str) -> CheckResult:
    """Exercise 06.1: the last *committed* batch id of ``checkpoint`` and its Kafka end offsets.

    ``end_offsets`` is ``{partition: offset}`` (keys as ints or digit strings), the offsets the
    next batch starts from. A batch that is planned (``offsets/N``) but not committed
    (``commits/N``) is not the answer: it is the one a restart replays.
    """
    hint = (
        "list <checkpoint>/commits: the largest file name is the last committed batch id; "
        "the last line of <checkpoint>/offsets/<that id> is JSON {topic: {partition: offset}}"
    )
    if is_unanswered(last_batch) or is_unanswered(end_offsets):
        return _unanswered(hint)
    committed, planned, expected = _checkpoint_position(checkpoint)
    if committed is None:
        return CheckResult.fail(
            f"{checkpoint} has no committed batch yet",
            "run the lesson's cells above first: they run the pipeline",
        )
    if isinstance(last_batch, bool) or not isinstance(last_batch, int):
        return CheckResult.fail(
            f"the last batch id is a number (int), got {last_batch!r} ({type(last_batch).__name__})",
            hint,
        )
    if last_batch != committed:
        note = ""
        if last_batch == planned:
            note = " — that batch has an offsets file but no commit file: it is planned, not done"
        return CheckResult.fail(
            f"last committed batch: expected {committed}, got {last_batch}{note}", hint
        )
    offsets = _int_keyed(end_offsets)
    if offsets is None:
        return CheckResult.fail(
            f"end_offsets should be a dict {{partition: offset}}, got {type(end_offsets).__name__}",
            hint,
        )
    if offsets != expected:
        return CheckResult.fail(
            f"end offsets of batch {committed}: expected {expected}, got {offsets}", hint
        )
    return CheckResult.ok(
        f"batch {committed} is the last committed; the next batch starts at {expected} "
        f"({sum(expected.values())} records read)"
    )


def check_duplicate_offsets(answer: Any, spark: SparkSession, bronze_path: str) -> CheckResult:
    """Exercise 06.2: how many ``(kafka_partition, kafka_offset)`` pairs occur more than once in Bronze.

    Each Kafka record has one (partition, offset); a pair seen twice is one record written twice.
    """
    hint = (
        'group Bronze by "kafka_partition", "kafka_offset", count, keep the groups whose count '
        "is more than 1, and count those groups"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    from pyspark.sql import functions as F

    bronze = spark.read.format("delta").load(bronze_path)
    pairs = bronze.groupBy("kafka_partition", "kafka_offset").count()
    expected = pairs.where(F.col("count") > 1).count()
    rows = bronze.count()
    if isinstance(answer, bool) or not isinstance(answer, int):
        return CheckResult.fail(
            f"the answer is a number (int), got {answer!r} ({type(answer).__name__})", hint
        )
    if answer == expected:
        if expected == 0:
            return CheckResult.ok(
                "Bronze has no duplicated Kafka record (run section 4, which deletes the "
                "checkpoint, to see some)"
            )
        return CheckResult.ok(
            f"{expected} Kafka records are in Bronze more than once ({rows} rows, "
            f"{pairs.count()} distinct records)"
        )
    if answer == rows and rows != expected:
        return CheckResult.fail(
            f"{answer} is every row of Bronze; expected {expected} duplicated (partition, offset) "
            "pairs",
            hint,
        )
    return CheckResult.fail(
        f"duplicated (partition, offset) pairs: expected {expected}, got {answer}", hint
    )


# --- Lesson 07: querying and operating -------------------------------------------------------------
def check_revenue_as_of(
    answer: Any, spark: SparkSession, table_path: str, version: int
) -> CheckResult:
    """Exercise 07.1: total revenue of the Gold table at ``version`` (time travel), within 0.01."""
    hint = (
        f'spark.read.format("delta").option("versionAsOf", {version}).load(path), then the '
        'sum of "total_revenue" (agg(F.sum(...)).first()[0])'
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    from pyspark.sql import functions as F

    def revenue(reader) -> float:
        total = reader.load(table_path).agg(F.sum("total_revenue")).first()[0]
        return float(total or 0.0)

    try:
        expected = revenue(spark.read.format("delta").option("versionAsOf", version))
    except Exception:
        return CheckResult.fail(
            f"{table_path} has no version {version} yet", "run the cells above first"
        )
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return CheckResult.fail(
            f"the revenue is a number, got {answer!r} ({type(answer).__name__})", hint
        )
    if abs(answer - expected) <= 0.01:
        return CheckResult.ok(f"Gold's total revenue at version {version} was {expected:.2f}")
    current = revenue(spark.read.format("delta"))
    if abs(answer - current) <= 0.01:
        return CheckResult.fail(
            f"{answer:.2f} is the revenue of the current version; version {version} had "
            f"{expected:.2f}",
            hint,
        )
    return CheckResult.fail(
        f"total revenue at version {version}: expected {expected:.2f}, got {answer:.2f}", hint
    )


def check_partition_lag(
    answer: Any, settings: KafkaSettings, topic: str, checkpoint: str
) -> CheckResult:
    """Exercise 07.2: ``{partition: lag}``, lag = the topic's end offset − the committed offset.

    The end offsets come from the broker (a consumer's watermarks), the committed offsets from
    the last committed batch of ``checkpoint``.
    """
    hint = (
        "end offsets: Consumer(...).get_watermark_offsets(TopicPartition(topic, p))[1] (or the "
        "largest offset per partition + 1); committed: the last offsets file with a commit; "
        "lag = end - committed, for every partition"
    )
    if is_unanswered(answer):
        return _unanswered(hint)
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {**settings.client_config(), "group.id": "lab-check-lag", "enable.auto.commit": False}
    )
    try:
        described = consumer.list_topics(topic=topic, timeout=10).topics.get(topic)
        partitions = sorted(described.partitions) if described and described.partitions else []
        watermarks = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            for p in partitions
        }
    finally:
        consumer.close()
    if not watermarks:
        return CheckResult.fail(f"the broker does not know topic {topic}", "run the cells above")
    _, _, committed = _checkpoint_position(checkpoint)
    expected = {p: high - committed.get(p, low) for p, (low, high) in watermarks.items()}
    lag = _int_keyed(answer)
    if lag is None:
        return CheckResult.fail(
            f"the answer is a dict {{partition: lag}}, got {type(answer).__name__}", hint
        )
    if lag == expected:
        return CheckResult.ok(
            f"lag per partition {expected}: {sum(expected.values())} records not in Bronze yet"
        )
    if lag == {p: high for p, (_, high) in watermarks.items()}:
        return CheckResult.fail(
            "those are the topic's end offsets; subtract the offsets the query has committed",
            hint,
        )
    return CheckResult.fail(f"lag per partition: expected {expected}, got {lag}", hint)
