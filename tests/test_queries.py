"""The design's SQL checks run against real Delta tables and agree with the tables."""

from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import functions as F

from labsupport.config import LabPaths
from labsupport.pipeline import gold_windows
from labsupport.queries import QUERIES, run_query
from labsupport.runner import create_tables
from tests.streaming import bronze_frame, event

pytestmark = pytest.mark.spark


@pytest.fixture
def tables(spark, tmp_path):
    paths = LabPaths.under(tmp_path)
    create_tables(spark, paths)
    events = [
        event("o-1", "10:01:00", region="us-east", unit_price=10.0, quantity=2),
        event("o-2", "10:02:00", region="us-west", unit_price=4.5),
        event("o-3", "10:07:00", region="us-east", unit_price=1.0, quantity=3),
        event("o-1", "10:08:00", event_type="ORDER_CANCELLED"),
    ]
    bronze = bronze_frame(spark, events, ingest=datetime(2026, 1, 15, 10, 9))
    bronze.write.format("delta").mode("append").save(paths.bronze)
    gold_windows(bronze).write.format("delta").mode("append").save(paths.gold)
    return paths


def test_both_design_queries_ship(spark):
    assert set(QUERIES) == {"bronze_check", "gold_revenue"}


def test_bronze_check_counts_events_and_finds_no_duplicates(spark, tables):
    result = {row.event_type: row for row in run_query(spark, tables, "bronze_check").collect()}
    assert result["ORDER_PLACED"].events == 3
    assert result["ORDER_CANCELLED"].events == 1
    assert all(
        row.duplicate_records == 0 and row.null_required_fields == 0 for row in result.values()
    )
    assert result["ORDER_PLACED"].max_ingest_lag_s == 8 * 60  # 10:09 receipt − 10:01 business time


def test_gold_revenue_adds_up_to_the_gold_table(spark, tables):
    revenue = run_query(spark, tables, "gold_revenue")
    gold_total = spark.read.format("delta").load(tables.gold).agg(F.sum("total_revenue")).first()[0]
    assert revenue.agg(F.sum("revenue")).first()[0] == pytest.approx(gold_total)
    newest = revenue.first()
    assert (newest.window_start, newest.region, newest.orders) == (
        datetime(2026, 1, 15, 10, 5),
        "us-east",
        1,
    )
