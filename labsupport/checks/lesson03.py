"""Checks of lesson 03, Bronze ingestion: the Bronze table's rows, its Delta history, a Bronze
stream the learner writes and starts, and a stream–static join with the product catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    CheckResult,
    as_whole_number,
    check_dataframe,
    finished_query_problem,
    function_problem,
    is_unanswered,
    load_table,
    source_problem,
    wrong_type,
)
from labsupport.errors import explain_failure

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from labsupport.config import KafkaSettings

__all__ = [
    "check_bronze_region_rows",
    "check_bronze_stream",
    "check_catalogue_join",
    "check_version_most_rows",
]


def check_bronze_region_rows(
    answer: Any, spark: SparkSession, bronze_path: str, region: str
) -> CheckResult:
    """Exercise 03.1: the number of rows of the Bronze table at ``bronze_path`` for ``region``."""
    hint = (
        f'spark.read.format("delta").load(lesson.paths.bronze), then .where(F.col("region") == '
        f'"{region}").count()'
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
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
    count = as_whole_number(answer)
    if count is None:
        return wrong_type("the answer", answer, hint)
    if count == expected:
        return CheckResult.ok(f"Bronze holds {expected} {region} rows of {rows}")
    if count == rows and rows != expected:
        return CheckResult.fail(
            f"{count} is every row of Bronze; keep only region {region} ({expected} rows)", hint
        )
    return CheckResult.fail(f"Bronze rows for {region}: expected {expected}, got {count}", hint)


def _rows_added_per_version(spark: SparkSession, table_path: str) -> dict[int, int]:
    """``{version: rows written}`` from the table's history (``operationMetrics.numOutputRows``)."""
    from delta.tables import DeltaTable

    history = DeltaTable.forPath(spark, table_path).history().select("version", "operationMetrics")
    added = {}
    for row in history.collect():
        metrics = row.operationMetrics or {}
        added[int(row.version)] = int(metrics.get("numOutputRows", 0) or 0)
    return dict(sorted(added.items()))


def _version_verdict(answer: Any, spark: SparkSession, table_path: str, hint: str) -> CheckResult:
    """Whether ``answer`` is the version of ``table_path`` whose commit wrote the most rows."""
    added = _rows_added_per_version(spark, table_path)
    most = max(added.values(), default=0)
    if most == 0:
        return CheckResult.not_ready(
            f"no version of {table_path} wrote any rows yet", "run the cells above first"
        )
    best = [version for version, rows in added.items() if rows == most]
    version = as_whole_number(answer)
    if version is None:
        return wrong_type("a version", answer, hint)
    if version in best:
        return CheckResult.ok(f"version {version} added {most} rows, the most of any commit")
    if version == most and version not in added:
        return CheckResult.fail(
            f"{version} is the number of rows; the question asks which version added them", hint
        )
    if version in added:
        return CheckResult.fail(
            f"version {version} added {added[version]} rows; version {best[0]} added {most}", hint
        )
    return CheckResult.fail(
        f"the table has versions {min(added)}–{max(added)}, not {version}", hint
    )


def check_version_most_rows(
    answer: Any, spark: SparkSession, table_path: str, scratch: Path | str
) -> CheckResult:
    """Exercise 03.2: ``answer`` is a function ``busiest_version(table_path)`` that reads a Delta
    table's history and returns the version whose commit wrote the most rows.

    It runs on ``table_path`` (Bronze) and on a table the check writes under ``scratch`` with
    a history of its own, so a version read off the history shown above does not fit both.
    When two versions tie, either is right.
    """
    hint = (
        "DeltaTable.forPath(spark, path).history() has one row per version; its "
        'operationMetrics map holds "numOutputRows" (a string: cast it). Return the version '
        "(an int), not the number of rows"
    )
    problem = function_problem(answer, "def busiest_version(table_path)", hint)
    if problem is not None:
        return problem
    import shutil

    other = str(Path(scratch) / "history")
    shutil.rmtree(other, ignore_errors=True)
    for rows in (5, 20, 7, 12):  # versions 0-3: version 1 wrote the most
        spark.range(rows).write.format("delta").mode("append").save(other)
    if max(_rows_added_per_version(spark, table_path).values(), default=0) == 0:
        return CheckResult.not_ready(
            f"no version of {table_path} wrote any rows yet", "run the cells above first"
        )
    said = []
    for path in (table_path, other):
        try:
            version = answer(path)
        except Exception as error:
            return CheckResult.fail(
                f"your function failed on {path}: {explain_failure(error)}", hint
            )
        verdict = _version_verdict(version, spark, path, hint)
        if not verdict:
            name = "on a table of the check's own" if path == other else f"on {path}"
            return CheckResult.fail(f"{name}: {verdict.message}", verdict.hint)
        said.append(verdict.message)
    return CheckResult.ok(f"Bronze: {said[0]}; a table of the check's own: {said[1]}")


def _topic_as_bronze(spark: SparkSession, kafka: KafkaSettings, topic: str) -> DataFrame:
    """Every record on ``topic`` now, read as a batch, in Bronze's shape (the reference)."""
    from labsupport.pipeline import bronze_rows, valid_events, validate_records
    from labsupport.runner import read_topic_now

    return bronze_rows(valid_events(validate_records(read_topic_now(spark, kafka, topic))))


def check_bronze_stream(
    answer: Any,
    spark: SparkSession,
    kafka: KafkaSettings,
    topic: str,
    table_path: str,
    checkpoint_path: str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 03.3: ``answer`` is the learner's started Bronze query on ``topic``.

    It must run available-now (it stops by itself), keep its checkpoint at ``checkpoint_path``,
    write a Delta table at ``table_path`` partitioned by ``event_date``, and hold exactly the
    Bronze rows of every valid record on the topic: the reference reads the topic as a batch
    through the same lesson functions, and chispa compares the two, row by row.
    """
    hint = (
        'spark.readStream.format("kafka") (options, "subscribe", "startingOffsets" "earliest"), '
        'then bronze_rows(valid_events(validate_records(...))), then .writeStream.format("delta")'
        '.outputMode("append").partitionBy("event_date").option("checkpointLocation", ...)'
        ".trigger(availableNow=True).start(path)"
    )
    problem = finished_query_problem(answer, checkpoint_path, hint, timeout)
    if problem is not None:
        return problem
    from delta.tables import DeltaTable

    try:
        detail = DeltaTable.forPath(spark, table_path).detail().first()
    except Exception as error:
        return CheckResult.fail(f"no Delta table at {table_path}: {explain_failure(error)}", hint)
    if list(detail.partitionColumns) != ["event_date"]:
        shown = list(detail.partitionColumns) or "nothing"
        return CheckResult.fail(
            f'the table is partitioned by {shown}; Bronze is partitioned by "event_date"', hint
        )
    written = spark.read.format("delta").load(table_path)
    verdict = check_dataframe(
        written, _topic_as_bronze(spark, kafka, topic), what="your Bronze table", hint=hint
    )
    if not verdict:
        return verdict
    return CheckResult.ok(
        f"your query wrote the {written.count()} valid events of {topic} once each, "
        "partitioned by event_date, and stopped by itself"
    )


# --- Exercise 03.4: a stream–static join ---------------------------------------------------------
_PRICED_COLUMNS = ["order_id", "product_id", "quantity", "unit_price", "base_price"]


def check_catalogue_join(
    answer: Any,
    spark: SparkSession,
    bronze_path: str,
    catalogue_path: str,
    table_path: str,
    checkpoint_path: str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 03.4: ``answer`` is a started query joining Bronze, as a stream, with the catalogue.

    It must stream Bronze (a Delta source), keep ORDER_PLACED events, join the catalogue (a
    static DataFrame of ``catalogue_path``) on ``product_id``, and write ``order_id``,
    ``product_id``, ``quantity``, ``unit_price`` and the catalogue's ``base_price``; compared
    with the same join of Bronze read as a batch, row by row (chispa).
    """
    hint = (
        "catalogue = spark.read.csv(path, header=True, schema=CATALOGUE_SCHEMA); spark.readStream"
        '.format("delta").load(bronze path), filter ORDER_PLACED, .join(catalogue.select('
        '"product_id", "base_price"), "product_id", "left"), .select(the five columns), '
        '.writeStream.format("delta") with the checkpointLocation, availableNow, .start(path)'
    )
    problem = finished_query_problem(answer, checkpoint_path, hint, timeout)
    if problem is not None:
        return problem
    problem = source_problem(answer, "DeltaSource", hint)
    if problem is not None:
        return problem
    from pyspark.sql import functions as F

    from labsupport.schema import CATALOGUE_SCHEMA

    written = load_table(spark, table_path, hint)
    if isinstance(written, CheckResult):
        return written
    catalogue = spark.read.csv(catalogue_path, header=True, schema=CATALOGUE_SCHEMA)
    expected = (
        spark.read.format("delta")
        .load(bronze_path)
        .filter(F.col("event_type") == "ORDER_PLACED")
        .join(catalogue.select("product_id", "base_price"), "product_id", "left")
        .select(*_PRICED_COLUMNS)
    )
    verdict = check_dataframe(written, expected, what="your table", hint=hint)
    if not verdict:
        return verdict
    return CheckResult.ok(
        f"each of the {written.count()} placed orders streamed from Bronze has its catalogue price"
    )
