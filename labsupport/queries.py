"""The design's SQL checks, shipped as files under ``data/queries/`` and run against the tables.

They query two temporary views, named as in the design: ``bronze_order_events`` and
``gold_order_revenue_windows``.

>>> sorted(QUERIES)
['bronze_check', 'gold_revenue']
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from labsupport.config import DATA_DIR, LabPaths

__all__ = ["QUERIES", "register_views", "run_query"]

QUERY_DIR = DATA_DIR / "queries"
QUERIES = {path.stem: path for path in sorted(QUERY_DIR.glob("*.sql"))}


def register_views(spark: SparkSession, paths: LabPaths) -> None:
    """Expose the Bronze and Gold tables under ``paths`` as the design's views."""
    spark.read.format("delta").load(paths.bronze).createOrReplaceTempView("bronze_order_events")
    spark.read.format("delta").load(paths.gold).createOrReplaceTempView(
        "gold_order_revenue_windows"
    )


def run_query(spark: SparkSession, paths: LabPaths, name: str) -> DataFrame:
    """Run ``data/queries/<name>.sql`` against the tables under ``paths``."""
    register_views(spark, paths)
    return spark.sql(QUERIES[name].read_text())
