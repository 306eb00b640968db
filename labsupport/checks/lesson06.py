"""Checks of lesson 06, checkpoints and exactly once: the last commit, duplicated Kafka records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.checkpoint import batch_ids, committed_offsets
from labsupport.checks.core import (
    CheckResult,
    as_offsets,
    as_whole_number,
    is_unanswered,
    wrong_type,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["check_duplicate_offsets", "check_last_commit"]


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
        return CheckResult.not_answered(hint)
    committed, planned = batch_ids(checkpoint, "commits"), batch_ids(checkpoint, "offsets")
    if not committed:
        return CheckResult.fail(
            f"{checkpoint} has no committed batch yet",
            "run the lesson's cells above first: they run the pipeline",
        )
    batch = as_whole_number(last_batch)
    if batch is None:
        return wrong_type("the last batch id", last_batch, hint)
    if batch != committed[-1]:
        note = ""
        if planned and batch == planned[-1]:
            note = " — that batch has an offsets file but no commit file: it is planned, not done"
        return CheckResult.fail(
            f"last committed batch: expected {committed[-1]}, got {batch}{note}", hint
        )
    offsets = as_offsets(end_offsets)
    if offsets is None:
        return CheckResult.fail(
            f"end_offsets should be a dict {{partition: offset}}, got {type(end_offsets).__name__}",
            hint,
        )
    expected = committed_offsets(checkpoint)
    if offsets != expected:
        return CheckResult.fail(
            f"end offsets of batch {batch}: expected {expected}, got {offsets}", hint
        )
    return CheckResult.ok(
        f"batch {batch} is the last committed; the next batch starts at {expected} "
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
        return CheckResult.not_answered(hint)
    from pyspark.sql import functions as F

    bronze = spark.read.format("delta").load(bronze_path)
    pairs = bronze.groupBy("kafka_partition", "kafka_offset").count()
    expected = pairs.where(F.col("count") > 1).count()
    rows = bronze.count()
    count = as_whole_number(answer)
    if count is None:
        return wrong_type("the answer", answer, hint)
    if count == expected:
        if expected == 0:
            return CheckResult.ok(
                "Bronze has no duplicated Kafka record (run section 4, which deletes the "
                "checkpoint, to see some)"
            )
        return CheckResult.ok(
            f"{expected} Kafka records are in Bronze more than once ({rows} rows, "
            f"{pairs.count()} distinct records)"
        )
    if count == rows and rows != expected:
        return CheckResult.fail(
            f"{count} is every row of Bronze; expected {expected} duplicated (partition, offset) "
            "pairs",
            hint,
        )
    return CheckResult.fail(
        f"duplicated (partition, offset) pairs: expected {expected}, got {count}", hint
    )
