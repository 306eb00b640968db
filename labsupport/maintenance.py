"""Keeping Delta tables healthy: small files, OPTIMIZE and VACUUM (lesson 07).

A streaming table gets a few files per micro-batch; :func:`delta_file_counts` shows the files
of the current version next to those on disk, before and after ``OPTIMIZE`` and ``VACUUM``;
:func:`retention_check_disabled` lets a lesson ``VACUUM ... RETAIN 0 HOURS`` a table nobody
else uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

__all__ = ["delta_file_counts", "retention_check_disabled"]


def delta_file_counts(spark: SparkSession, path: str) -> tuple[int, int]:
    """``(files in the current version, Parquet files on disk)`` of a Delta table.

    OPTIMIZE lowers the first (small files rewritten as few big ones) but not the second: the
    old files stay on disk for time travel until VACUUM deletes those older than the retention.
    """
    from delta.tables import DeltaTable

    active = DeltaTable.forPath(spark, path).detail().first()["numFiles"]
    on_disk = sum(1 for _ in Path(path).rglob("*.parquet"))
    return int(active), on_disk


@contextmanager
def retention_check_disabled(spark: SparkSession) -> Iterator[None]:
    """Turn Delta's VACUUM retention check off for a ``with`` block, and back on after.

    ``VACUUM ... RETAIN 0 HOURS`` is refused while the check is on: files a running query or a
    time-travel read still needs could be deleted. Only for a table nobody else uses.
    """
    key = "spark.databricks.delta.retentionDurationCheck.enabled"
    before = spark.conf.get(key, "true")
    spark.conf.set(key, "false")
    try:
        yield
    finally:
        spark.conf.set(key, before)
