"""Checks of lesson 06, checkpoints and exactly once: the last commit, duplicated Kafka records,
a stream the learner stops and restarts, and the learner's own exactly-once query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labsupport.checkpoint import batch_ids, committed_offsets
from labsupport.checks.core import (
    CheckResult,
    as_offsets,
    as_whole_number,
    check_dataframe,
    copy_problem,
    finished_query_problem,
    function_problem,
    is_unanswered,
    load_table,
    wrong_type,
)
from labsupport.errors import explain_failure

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from labsupport.config import KafkaSettings

__all__ = [
    "check_duplicate_offsets",
    "check_last_commit",
    "check_not_exactly_once",
    "check_restart",
]


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


# --- Exercise 06.3: stop a stream, restart it from its checkpoint ---------------------------------
def _is_query(value: object) -> bool:
    return hasattr(value, "awaitTermination") and hasattr(value, "runId")


def _rows_read(query: Any) -> int:
    return sum(progress["numInputRows"] for progress in query.recentProgress)


def check_restart(
    answer: Any,
    spark: SparkSession,
    kafka: KafkaSettings,
    topic: str,
    table_path: str,
    checkpoint_path: str,
    timeout: float = 120.0,
) -> CheckResult:
    """Exercise 06.3: ``answer`` is ``(first_run, second_run)``, one query stopped mid-flight and
    restarted from the same checkpoint.

    The first run must have committed part of the topic and be stopped; the second must be the
    same query (the id in the checkpoint's ``metadata``) in a new run (``runId``), finish by
    itself (available-now), and leave every record of ``topic`` in ``table_path`` exactly once.
    """
    hint = (
        "start_copy(...) twice with the same checkpointLocation: first with a 1-second trigger "
        "and a small maxOffsetsPerTrigger, wait for two progress reports, .stop() it; then "
        "with an available-now trigger"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    if not (isinstance(answer, (tuple, list)) and len(answer) == 2 and all(map(_is_query, answer))):
        return CheckResult.fail(
            f"give the two started queries, (first_run, second_run); got {answer!r}", hint
        )
    first, second = answer
    if first.isActive:
        first.stop()
        return CheckResult.fail("the first run was still running (stopped now): stop it", hint)
    if first.runId == second.runId:
        return CheckResult.fail("that is one run twice: restart the query with start again", hint)
    if first.id != second.id:
        return CheckResult.fail(
            "the two runs are different queries (another id): a restart uses the same "
            "checkpointLocation, where the query's id lives",
            hint,
        )
    from labsupport.topics import topic_offsets

    offsets = topic_offsets(kafka, topic)
    records = sum(end - first_offset for first_offset, end in offsets.values())
    before = _rows_read(first)
    if before == 0 or before >= records:
        second.stop()  # the verdict is known: leave no query running
    if before == 0:
        return CheckResult.fail(
            "the first run had read nothing when it stopped: wait for its first batches", hint
        )
    if before >= records:
        return CheckResult.fail(
            f"the first run read all {records} records before it stopped, so the restart had "
            "nothing to do: stop it sooner, or lower maxOffsetsPerTrigger",
            hint,
        )
    problem = finished_query_problem(second, checkpoint_path, hint, timeout)
    if problem is not None:
        return problem
    table = load_table(spark, table_path, hint)
    if isinstance(table, CheckResult):
        return table
    problem = copy_problem(table, offsets, hint)
    if problem is not None:
        return problem
    return CheckResult.ok(
        f"run 1 read {before} records and stopped, run 2 read {_rows_read(second)} more from the "
        f"same checkpoint: all {records} records of {topic} are in the table once each"
    )


# --- Exercise 06.4: the exactly-once proof, as a query --------------------------------------------
_PROOF_COLUMNS = ["partition", "offset", "copies"]


def _expected_problems(copy: DataFrame, offsets: dict[int, tuple[int, int]]) -> DataFrame:
    """The reference: each offset of the topic with how often ``copy`` holds it, when not once."""
    from pyspark.sql import functions as F

    spark = copy.sparkSession
    topic = spark.createDataFrame(
        [(p, o) for p, (first, end) in offsets.items() for o in range(first, end)],
        "partition int, offset long",
    )
    held = copy.groupBy("partition", "offset").agg(F.count("*").alias("copies"))
    return (
        topic.join(held, ["partition", "offset"], "full_outer")
        .select("partition", "offset", F.coalesce("copies", F.lit(0)).cast("long").alias("copies"))
        .where(F.col("copies") != 1)
    )


def check_not_exactly_once(
    answer: Any,
    spark: SparkSession,
    kafka: KafkaSettings,
    topic: str,
    table_path: str,
) -> CheckResult:
    """Exercise 06.4: the learner's ``not_exactly_once(copy, end_offsets)``, run on three tables.

    The function returns, for a copy of the topic (Kafka's ``partition`` and ``offset``
    columns), every offset below ``end_offsets`` that the copy does not hold exactly once:
    ``partition``, ``offset``, ``copies`` (0 for a missing record). The check runs it on the
    learner's table of exercise 06.3 and on two broken copies of it — one record dropped, one
    written twice — and compares each result with the reference (chispa).
    """
    hint = (
        "make every (partition, offset) the topic holds (spark.createDataFrame of range(end) per "
        'partition), count the copy\'s rows per (partition, offset), join the two "full_outer", '
        "copies = coalesce(count, 0), keep copies != 1"
    )
    problem = function_problem(answer, "def not_exactly_once(copy, end_offsets)", hint)
    if problem is not None:
        return problem
    from pyspark.sql import functions as F

    from labsupport.topics import topic_offsets

    offsets = topic_offsets(kafka, topic)
    if any(first for first, _ in offsets.values()):
        return CheckResult.fail(
            f"{topic} no longer starts at offset 0: run exercise 06.3 again", hint
        )
    end_offsets = {p: end for p, (_, end) in offsets.items()}
    try:
        copy = spark.read.format("delta").load(table_path).select("partition", "offset")
    except Exception as error:
        return CheckResult.fail(
            f"no table of exercise 06.3 at {table_path}: {explain_failure(error)}", hint
        )
    partition, end = max(end_offsets.items(), key=lambda item: item[1])
    if end < 2:
        return CheckResult.fail(f"{topic} holds too few records: run exercise 06.3 again", hint)
    one = (F.col("partition") == partition) & (F.col("offset") == 0)
    other = (F.col("partition") == partition) & (F.col("offset") == 1)
    broken = {
        "your 06.3 table": copy,
        "a copy missing a record": copy.where(~one),
        "a copy with a record twice": copy.unionByName(copy.where(other)),
    }
    for name, table in broken.items():
        try:
            mine = answer(table, dict(end_offsets))
            verdict = check_dataframe(
                mine.select(*_PROOF_COLUMNS) if hasattr(mine, "columns") and set(_PROOF_COLUMNS) <= set(mine.columns) else mine,
                _expected_problems(table, offsets),
                what=f"your result for {name}", hint=hint,
            )  # fmt: skip
        except Exception as error:
            return CheckResult.fail(
                f"on {name} your function failed: {explain_failure(error)}", hint
            )
        if not verdict:
            return verdict
    return CheckResult.ok(
        "your query finds nothing wrong in your copy, and finds the missing record and the "
        "one written twice in the broken ones"
    )
