"""The wiring: three streaming queries over the lesson functions, each with its own checkpoint.

As the design draws it, Bronze and Gold run concurrently from the same topic; the lab adds the
quarantine query, so nothing that fails validation vanishes:

- ``bronze``: valid events → Bronze, append mode, Delta's streaming sink (exactly once: the sink
  records each micro-batch id in the Delta log and skips a batch it has already written);
- ``quarantine``: invalid records → quarantine, the same way;
- ``gold``: windowed aggregation in **update** mode, written with ``foreachBatch`` and a Delta
  ``MERGE`` on (window_start, region, product_category). Delta's streaming sink has no update
  mode, and a MERGE of full window values is idempotent: replaying a micro-batch after a crash
  leaves Gold unchanged.

Each query keeps its Kafka offsets, and Gold its state and watermark, in its own checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from labsupport.config import (
    MAX_OFFSETS_PER_TRIGGER,
    STARTING_OFFSETS,
    TRIGGER_INTERVAL,
    KafkaSettings,
    LabPaths,
)
from labsupport.durations import AVAILABLE_NOW, trigger_interval
from labsupport.errors import LabError, explain_failure
from labsupport.folders import claim
from labsupport.pipeline import (
    bronze_rows,
    gold_windows,
    invalid_records,
    quarantine_rows,
    valid_events,
    validate_records,
)
from labsupport.schema import BRONZE_SCHEMA, GOLD_KEY, GOLD_SCHEMA, QUARANTINE_SCHEMA
from labsupport.spark import quiet_spark_logs

__all__ = [
    "QUERIES",
    "Pipeline",
    "StoppedMidBatch",
    "await_query",
    "create_tables",
    "read_kafka",
    "read_topic_now",
    "refuse_a_new_checkpoint_over_data",
    "run_available_now",
    "start_pipeline",
    "stopped_mid_batch_reported_briefly",
    "trigger_options",
    "upsert_gold",
]

#: The pipeline's queries, each with its own checkpoint; a lesson may start only some of them.
QUERIES = ("bronze", "quarantine", "gold")


def trigger_options(trigger: str) -> dict[str, object]:
    """``"30 seconds"`` → a processing-time trigger; ``"available-now"`` → process what is there, then stop."""
    try:
        interval = trigger_interval(trigger)
    except ValueError:
        raise LabError(
            f"--trigger {trigger!r} is not an interval like '30 seconds' or '{AVAILABLE_NOW}'."
        ) from None
    return {"availableNow": True} if interval is None else {"processingTime": interval}


def read_kafka(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    *,
    starting_offsets: str = STARTING_OFFSETS,
    max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER,
    fail_on_data_loss: bool = True,
) -> DataFrame:
    """The topic as a streaming DataFrame (Kafka's key, value, topic, partition, offset, timestamp).

    ``startingOffsets`` applies to a query's first run only; after that the checkpoint decides.
    ``failOnDataLoss`` (Spark's default, true) stops the query when offsets it expects are gone
    — a topic deleted and re-created, say — instead of silently skipping them (lesson 06).
    """
    reader = (
        spark.readStream.format("kafka")
        .options(**settings.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", starting_offsets)
        .option("failOnDataLoss", str(fail_on_data_loss).lower())
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", max_offsets_per_trigger)
    return reader.load()


def read_topic_now(spark: SparkSession, settings: KafkaSettings, topic: str) -> DataFrame:
    """Every record ``topic`` holds now, as a *batch* DataFrame (earliest to latest offset).

    The same columns as :func:`read_kafka`'s stream: what a check or a benchmark compares a
    stream's result with.
    """
    return (
        spark.read.format("kafka")
        .options(**settings.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load()
    )


def create_tables(spark: SparkSession, paths: LabPaths) -> None:
    """Create the three tables up front (empty), so they can be queried before the first batch.

    The two roots are created first and marked as the lab's (:func:`labsupport.folders.claim`),
    so that ``make clean`` may delete them later — and nothing it did not create.
    """
    claim(paths.delta_root)
    claim(paths.checkpoint_root)
    for path, schema, partitions in (
        (paths.bronze, BRONZE_SCHEMA, ["event_date"]),
        (paths.quarantine, QUARANTINE_SCHEMA, []),
        (paths.gold, GOLD_SCHEMA, []),
    ):
        builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
        if partitions:
            builder = builder.partitionedBy(*partitions)
        builder.execute()


def _holds_data(table: str) -> bool:
    """True when the Delta table at ``table`` was written to: a commit after the empty one
    :func:`create_tables` makes, or files added in its first. (A query's empty batches commit
    too, so a table a deleted checkpoint only ever wrote nothing into counts as written.)"""
    log = Path(table) / "_delta_log"
    versions = sorted(log.glob("*.json")) if log.is_dir() else []
    if len(versions) > 1 or any(log.glob("*.checkpoint*.parquet")):
        return True
    return bool(versions) and '"add"' in versions[0].read_text()


def refuse_a_new_checkpoint_over_data(paths: LabPaths, queries: Sequence[str] = QUERIES) -> None:
    """A one-line :class:`LabError` when a query would start a new checkpoint over a full table.

    A checkpoint and its table belong together. A new checkpoint reads the topic from
    ``startingOffsets`` again: Bronze and quarantine would hold every record twice, and Gold
    would MERGE the totals of a partial replay over complete ones (lesson 06).
    """
    tables = {"bronze": paths.bronze, "quarantine": paths.quarantine, "gold": paths.gold}
    for query in queries:
        checkpoint = Path(paths.checkpoint(query))
        if not (checkpoint / "offsets").is_dir() and _holds_data(tables[query]):
            raise LabError(
                f"The {query} table {tables[query]} holds data but its checkpoint {checkpoint} "
                "is new: the query would read the topic again into it. Start both over with "
                "`make clean` (a lesson: lesson.reset()), or restore the checkpoint."
            )


def upsert_gold(gold_path: str) -> Callable[[DataFrame, int], None]:
    """A ``foreachBatch`` function that MERGEs a micro-batch of updated windows into Gold.

    Update mode emits each changed window with its *full* new values, so the MERGE overwrites
    (never adds to) an existing row: running the same batch twice gives the same table.
    """
    condition = " AND ".join(f"gold.{key} = updates.{key}" for key in GOLD_KEY)

    def merge(updates: DataFrame, batch_id: int) -> None:
        with stopped_mid_batch_reported_briefly():
            # Every action on ``updates`` would run the batch's aggregation again (state store
            # included): keep its few rows for the emptiness test and the MERGE.
            updates = updates.persist()
            try:
                if updates.isEmpty():  # e.g. the no-data batch that only advances the watermark
                    return
                (
                    DeltaTable.forPath(updates.sparkSession, gold_path)
                    .alias("gold")
                    .merge(updates.alias("updates"), condition)
                    .whenMatchedUpdateAll()
                    .whenNotMatchedInsertAll()
                    .execute()
                )
            finally:
                updates.unpersist()

    return merge


class StoppedMidBatch(Exception):
    """A ``foreachBatch`` function interrupted because its query is being stopped."""


#: How Spark's stream thread recognises a foreachBatch function that was interrupted by a stop.
_INTERRUPTED = ("java.lang.InterruptedException", "java.io.InterruptedIOException",
                "java.nio.channels.ClosedByInterruptException")  # fmt: skip


@contextmanager
def stopped_mid_batch_reported_briefly() -> Iterator[None]:
    """Turn "interrupted by a stop" inside a ``foreachBatch`` function into a two-line error.

    Stopping a query interrupts the JVM call a ``foreachBatch`` function is making (here, the
    aggregation or the MERGE). Spark then reads the Python error's text to tell a stop from a
    failure, with a regular expression (``StreamExecution.PROXY_ERROR``) that recurses once per
    character: the usual page of Java stack trace overflows the stream thread's stack and prints
    a ``StackOverflowError`` on a clean stop. The same verdict in two lines lets Spark see what
    it is: a stop, not a failure.
    """
    try:
        yield
    except Exception as error:
        interrupted = next((name for name in _INTERRUPTED if name in str(error)), None)
        if interrupted is None:
            raise
        raise StoppedMidBatch(
            f"py4j.protocol.Py4JJavaError: An error occurred while calling foreachBatch: {interrupted}"
        ) from None


def await_query(query: StreamingQuery, timeout: float) -> StreamingQuery:
    """Wait for an available-now ``query`` to finish, then stop it; return it (its progress stays).

    A failure, or ``timeout`` seconds without finishing, raises a one-line :class:`LabError`;
    the query is stopped whatever happens.
    """
    try:
        try:
            finished = query.awaitTermination(timeout)
        except Exception as error:
            raise LabError(f"The {query.name} query failed: {explain_failure(error)}") from None
        if not finished:
            raise LabError(f"The {query.name} query did not finish within {timeout:.0f} s.")
        return query
    finally:
        # a stop's cancellations log harmless alarms (see Pipeline.stop)
        with quiet_spark_logs("OFF"):
            query.stop()


@dataclass
class Pipeline:
    """The running queries of one pipeline, stopped together (a query not started is None)."""

    bronze: StreamingQuery | None = None
    quarantine: StreamingQuery | None = None
    gold: StreamingQuery | None = None

    @property
    def queries(self) -> list[StreamingQuery]:
        return [q for q in (self.bronze, self.quarantine, self.gold) if q is not None]

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def raise_if_failed(self) -> None:
        """Re-raise the first query failure as a one-line :class:`LabError` (queries stopped)."""
        for query in self.queries:
            error = query.exception()
            if error is not None:
                self.stop()
                raise LabError(f"The {query.name} query failed: {explain_failure(error)}")

    def await_all(self, timeout: float = 600.0) -> None:
        """Wait for every query to finish (available-now runs), raising if one failed."""
        deadline = time.monotonic() + timeout
        for query in self.queries:
            try:
                finished = query.awaitTermination(max(0.1, deadline - time.monotonic()))
            except Exception:
                finished = True  # the failure itself is reported just below
            self.raise_if_failed()
            if not finished:
                self.stop()
                raise LabError(f"The {query.name} query did not finish within {timeout:.0f} s.")

    def process_all_available(self) -> None:
        """Block until every query has processed all data available now (for tests and lessons)."""
        for query in self.queries:
            query.processAllAvailable()
        self.raise_if_failed()

    def stop(self) -> None:
        """Stop every query, with Spark's log off meanwhile.

        A stop cancels the running micro-batch: its tasks and the Delta write in flight log
        "Aborting job ... InterruptedException" at ERROR level — harmless, but alarming. A real
        failure still surfaces, as the query's exception (:meth:`raise_if_failed`).
        """
        with quiet_spark_logs("OFF"):
            for query in self.queries:
                if query.isActive:
                    query.stop()
            _wait_for_running_tasks()


def _wait_for_running_tasks(timeout: float = 10.0) -> None:
    """Until no task runs on any executor: a stopped query's cancelled tasks end a moment after
    ``stop()`` returns, and log their cancellation as they do (while the log is still off)."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return
    tracker = context._jsc.sc().statusTracker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(info.numRunningTasks() for info in tracker.getExecutorInfos()) == 0:
            return
        time.sleep(0.1)


def start_pipeline(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths | None = None,
    *,
    trigger: str = TRIGGER_INTERVAL,
    starting_offsets: str = STARTING_OFFSETS,
    max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER,
    name_prefix: str = "",
    queries: tuple[str, ...] = QUERIES,
    allow_new_checkpoint: bool = False,
) -> Pipeline:
    """Start Bronze, quarantine and Gold on ``topic``; returns at once (queries run in the background).

    ``queries`` names the ones to start (default: all three). Each reads the topic on its own,
    so a lesson about Bronze alone can leave Gold out and save its work; the tables are created
    either way. A query whose checkpoint is new while its table already holds data is refused
    (see :func:`refuse_a_new_checkpoint_over_data`) unless ``allow_new_checkpoint``.
    """
    unknown = sorted(set(queries) - set(QUERIES))
    if unknown or not queries:
        raise LabError(f"queries must name some of {', '.join(QUERIES)}; not {unknown or 'none'}.")
    paths = paths or LabPaths()
    if not allow_new_checkpoint:
        refuse_a_new_checkpoint_over_data(paths, queries)
    create_tables(spark, paths)
    trigger_kwargs = trigger_options(trigger)

    def validated() -> DataFrame:
        records = read_kafka(
            spark,
            settings,
            topic,
            starting_offsets=starting_offsets,
            max_offsets_per_trigger=max_offsets_per_trigger,
        )
        return validate_records(records)

    pipeline = Pipeline()
    if "bronze" in queries:
        pipeline.bronze = (
            bronze_rows(valid_events(validated()))
            .writeStream.format("delta")
            .queryName(f"{name_prefix}bronze")
            .outputMode("append")
            .partitionBy("event_date")
            .option("checkpointLocation", paths.checkpoint("bronze"))
            .trigger(**trigger_kwargs)
            .start(paths.bronze)
        )
    if "quarantine" in queries:
        pipeline.quarantine = (
            quarantine_rows(invalid_records(validated()))
            .writeStream.format("delta")
            .queryName(f"{name_prefix}quarantine")
            .outputMode("append")
            .option("checkpointLocation", paths.checkpoint("quarantine"))
            .trigger(**trigger_kwargs)
            .start(paths.quarantine)
        )
    if "gold" in queries:
        pipeline.gold = (
            gold_windows(valid_events(validated()))
            .writeStream.queryName(f"{name_prefix}gold")
            .outputMode("update")
            .foreachBatch(upsert_gold(paths.gold))
            .option("checkpointLocation", paths.checkpoint("gold"))
            .trigger(**trigger_kwargs)
            .start()
        )
    return pipeline


def run_available_now(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths,
    *,
    starting_offsets: str = STARTING_OFFSETS,
    max_offsets_per_trigger: int | None = None,
    queries: tuple[str, ...] = QUERIES,
    timeout: float = 180.0,
    allow_new_checkpoint: bool = False,
) -> Pipeline:
    """Run the pipeline once over what the topic holds now, then stop it: a bounded run.

    ``trigger="available-now"``: each query plans what is there when it starts (without
    ``max_offsets_per_trigger``, one micro-batch for a small topic, plus a no-data batch when
    the watermark moved), processes it and stops. The queries are stopped whatever happens; a
    failure, or ``timeout`` seconds, raises a one-line :class:`LabError`. The returned (stopped)
    :class:`Pipeline` keeps each query's progress reports (``pipeline.gold.recentProgress``).
    ``starting_offsets`` applies to a new checkpoint only; afterwards the checkpoint decides.
    """
    # A failure is raised here in one line; Spark's own report of it (a stack trace per query)
    # would only repeat it, so its log is off while the bounded run lasts.
    with quiet_spark_logs("OFF"):
        pipeline = start_pipeline(
            spark,
            settings,
            topic,
            paths,
            trigger=AVAILABLE_NOW,
            starting_offsets=starting_offsets,
            max_offsets_per_trigger=max_offsets_per_trigger,
            queries=queries,
            allow_new_checkpoint=allow_new_checkpoint,
        )
        with pipeline:
            pipeline.await_all(timeout=timeout)
    return pipeline
