"""Exactly once, proved from the tables: Bronze and quarantine held against the topic, Gold against Bronze.

Lesson 06 kills the pipeline mid-batch and restarts it; :func:`exactly_once_report` then checks,
record by record, that every Kafka record is in Bronze or quarantine exactly once (each
``(partition, offset)`` once, none missing), and that Gold equals ``gold_windows`` recomputed in
batch over Bronze.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from labsupport.config import KafkaSettings, LabPaths
from labsupport.pipeline import gold_windows
from labsupport.topics import topic_offsets

__all__ = ["ExactlyOnceReport", "exactly_once_report"]


@dataclass(frozen=True)
class ExactlyOnceReport:
    """Bronze, quarantine and Gold held against the topic: the proof of lesson 06.

    Every Kafka record is either a valid event (Bronze) or not (quarantine), so the two tables
    together must hold each ``(partition, offset)`` of the topic exactly once.
    """

    topic_records: int
    bronze_rows: int
    bronze_distinct: int
    quarantine_rows: int
    quarantine_distinct: int
    missing: int
    gold_rows: int
    gold_matches: bool

    @property
    def duplicates(self) -> int:
        """Rows beyond the first copy of a Kafka record, in Bronze and quarantine together."""
        return (self.bronze_rows - self.bronze_distinct) + (
            self.quarantine_rows - self.quarantine_distinct
        )

    @property
    def exactly_once(self) -> bool:
        return self.missing == 0 and self.duplicates == 0 and self.gold_matches

    def lines(self) -> list[str]:
        verdict = "exactly once ✓" if self.exactly_once else "NOT exactly once ✗"
        return [
            f"records on the topic                 {self.topic_records}",
            f"Bronze rows (distinct records)       {self.bronze_rows} ({self.bronze_distinct})",
            f"quarantine rows (distinct records)   {self.quarantine_rows} ({self.quarantine_distinct})",
            f"records in neither table (lost)      {self.missing}",
            f"rows beyond the first copy (dupes)   {self.duplicates}",
            f"Gold = gold_windows(Bronze) in batch {self.gold_matches} ({self.gold_rows} rows)",
            verdict,
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _located(df: DataFrame) -> DataFrame:
    return df.select("kafka_partition", "kafka_offset")


def exactly_once_report(
    spark: SparkSession, paths: LabPaths, settings: KafkaSettings, topic: str
) -> ExactlyOnceReport:
    """Prove (or disprove) exactly once from the tables themselves.

    - *no loss*: every offset the topic holds, per partition from its first to its end offset,
      is in Bronze or quarantine;
    - *no duplicates*: no ``(kafka_partition, kafka_offset)`` appears twice;
    - *Gold is right*: Gold equals :func:`labsupport.pipeline.gold_windows` computed in batch
      over Bronze (true when no event was too late for the watermark, as in lesson 06).
    """
    bronze = spark.read.format("delta").load(paths.bronze)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    gold = spark.read.format("delta").load(paths.gold)

    def rows_and_records(table: DataFrame) -> tuple[int, int]:
        counts = table.agg(
            F.count("*"), F.count_distinct("kafka_partition", "kafka_offset")
        ).first()
        return int(counts[0]), int(counts[1])

    offsets = topic_offsets(settings, topic)
    topic_records = sum(end - first for first, end in offsets.values())
    missing = 0
    if topic_records:
        expected = spark.createDataFrame(
            [(p, first, end - 1) for p, (first, end) in offsets.items() if end > first],
            "kafka_partition int, first long, last long",
        ).select("kafka_partition", F.explode(F.sequence("first", "last")).alias("kafka_offset"))
        seen = _located(bronze).union(_located(quarantine))
        missing = expected.join(seen, ["kafka_partition", "kafka_offset"], "left_anti").count()
    gold_rows = gold.collect()  # Gold is small: a few rows per window, region and category
    recomputed = gold_windows(bronze).collect()
    bronze_rows, bronze_distinct = rows_and_records(bronze)
    quarantine_rows, quarantine_distinct = rows_and_records(quarantine)
    return ExactlyOnceReport(
        topic_records=topic_records,
        bronze_rows=bronze_rows,
        bronze_distinct=bronze_distinct,
        quarantine_rows=quarantine_rows,
        quarantine_distinct=quarantine_distinct,
        missing=missing,
        gold_rows=len(gold_rows),
        gold_matches=sorted(map(tuple, gold_rows)) == sorted(map(tuple, recomputed)),
    )
