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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from delta.tables import DeltaTable
from pyspark import SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from labsupport.config import (
    BRONZE_TABLE,
    CHECKPOINT_ROOT,
    DELTA_ROOT,
    GOLD_TABLE,
    MAX_OFFSETS_PER_TRIGGER,
    QUARANTINE_TABLE,
    STARTING_OFFSETS,
    TRIGGER_INTERVAL,
    KafkaSettings,
)
from labsupport.errors import LabError
from labsupport.pipeline import (
    bronze_rows,
    decode_records,
    gold_windows,
    invalid_records,
    parse_events,
    quarantine_rows,
    valid_events,
    validate_events,
)
from labsupport.schema import BRONZE_SCHEMA, GOLD_KEY, GOLD_SCHEMA, QUARANTINE_SCHEMA

__all__ = [
    "LabPaths",
    "Pipeline",
    "create_tables",
    "read_kafka",
    "start_pipeline",
    "trigger_options",
    "upsert_gold",
]

AVAILABLE_NOW = "available-now"


@dataclass(frozen=True)
class LabPaths:
    """Where one pipeline keeps its tables and checkpoints (the design's ``./delta``, ``./checkpoints``)."""

    delta_root: Path = DELTA_ROOT
    checkpoint_root: Path = CHECKPOINT_ROOT

    @property
    def bronze(self) -> str:
        return str(Path(self.delta_root) / BRONZE_TABLE)

    @property
    def quarantine(self) -> str:
        return str(Path(self.delta_root) / QUARANTINE_TABLE)

    @property
    def gold(self) -> str:
        return str(Path(self.delta_root) / GOLD_TABLE)

    def checkpoint(self, query: str) -> str:
        return str(Path(self.checkpoint_root) / query)


def trigger_options(trigger: str) -> dict[str, object]:
    """``"30 seconds"`` → a processing-time trigger; ``"available-now"`` → process what is there, then stop."""
    if trigger == AVAILABLE_NOW:
        return {"availableNow": True}
    if not trigger.split() or not trigger.split()[0].replace(".", "", 1).isdigit():
        raise LabError(
            f"--trigger {trigger!r} is not an interval like '30 seconds' or '{AVAILABLE_NOW}'."
        )
    return {"processingTime": trigger}


def read_kafka(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    *,
    starting_offsets: str = STARTING_OFFSETS,
    max_offsets_per_trigger: int | None = MAX_OFFSETS_PER_TRIGGER,
) -> DataFrame:
    """The topic as a streaming DataFrame (Kafka's key, value, topic, partition, offset, timestamp).

    ``startingOffsets`` applies to a query's first run only; after that the checkpoint decides.
    """
    reader = (
        spark.readStream.format("kafka")
        .options(**settings.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", starting_offsets)
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", max_offsets_per_trigger)
    return reader.load()


def create_tables(spark: SparkSession, paths: LabPaths) -> None:
    """Create the three tables up front (empty), so they can be queried before the first batch."""
    for path, schema, partitions in (
        (paths.bronze, BRONZE_SCHEMA, ["event_date"]),
        (paths.quarantine, QUARANTINE_SCHEMA, []),
        (paths.gold, GOLD_SCHEMA, []),
    ):
        builder = DeltaTable.createIfNotExists(spark).location(path).addColumns(schema)
        if partitions:
            builder = builder.partitionedBy(*partitions)
        builder.execute()


def upsert_gold(gold_path: str) -> Callable[[DataFrame, int], None]:
    """A ``foreachBatch`` function that MERGEs a micro-batch of updated windows into Gold.

    Update mode emits each changed window with its *full* new values, so the MERGE overwrites
    (never adds to) an existing row: running the same batch twice gives the same table.
    """
    condition = " AND ".join(f"gold.{key} = updates.{key}" for key in GOLD_KEY)

    def merge(updates: DataFrame, batch_id: int) -> None:
        if updates.isEmpty():  # e.g. the no-data batch that only advances the watermark
            return
        gold = DeltaTable.forPath(updates.sparkSession, gold_path)
        (
            gold.alias("gold")
            .merge(updates.alias("updates"), condition)
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )

    return merge


@dataclass
class Pipeline:
    """The running queries of one pipeline, stopped together."""

    bronze: StreamingQuery
    quarantine: StreamingQuery
    gold: StreamingQuery

    @property
    def queries(self) -> list[StreamingQuery]:
        return [self.bronze, self.quarantine, self.gold]

    def raise_if_failed(self) -> None:
        """Re-raise the first query failure as a one-line :class:`LabError`."""
        for query in self.queries:
            error = query.exception()
            if error is not None:
                self.stop()
                first_line = (
                    str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
                )
                raise LabError(f"The {query.name} query failed: {first_line}")

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
        """Stop every query; cancelling in-flight tasks makes Spark log alarming but harmless
        warnings, so they are muted while the queries stop."""
        context = SparkContext.getOrCreate()
        context.setLogLevel("ERROR")
        try:
            for query in self.queries:
                if query.isActive:
                    query.stop()
        finally:
            context.setLogLevel("WARN")


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
) -> Pipeline:
    """Start Bronze, quarantine and Gold on ``topic``; returns at once (queries run in the background)."""
    paths = paths or LabPaths()
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
        return validate_events(parse_events(decode_records(records)))

    bronze = (
        bronze_rows(valid_events(validated()))
        .writeStream.format("delta")
        .queryName(f"{name_prefix}bronze")
        .outputMode("append")
        .partitionBy("event_date")
        .option("checkpointLocation", paths.checkpoint("bronze"))
        .trigger(**trigger_kwargs)
        .start(paths.bronze)
    )
    quarantine = (
        quarantine_rows(invalid_records(validated()))
        .writeStream.format("delta")
        .queryName(f"{name_prefix}quarantine")
        .outputMode("append")
        .option("checkpointLocation", paths.checkpoint("quarantine"))
        .trigger(**trigger_kwargs)
        .start(paths.quarantine)
    )
    gold = (
        gold_windows(valid_events(validated()))
        .writeStream.queryName(f"{name_prefix}gold")
        .outputMode("update")
        .foreachBatch(upsert_gold(paths.gold))
        .option("checkpointLocation", paths.checkpoint("gold"))
        .trigger(**trigger_kwargs)
        .start()
    )
    return Pipeline(bronze=bronze, quarantine=quarantine, gold=gold)
