"""The event contract and the table schemas, exactly as the design specifies them.

One module holds every field name, type and valid value, so the producer, the parser, the
validator, the tables and the tests cannot disagree. It imports only Spark's *type* classes
(no JVM is started), so the producer can use it too.

>>> EVENT_FIELDS[:3]
('order_id', 'customer_id', 'product_id')
>>> sorted(REGION_WEIGHTS) == sorted(REGIONS)
True
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

__all__ = [
    "BRONZE_SCHEMA",
    "CATALOGUE_SCHEMA",
    "EVENT_FIELDS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "GOLD_KEY",
    "GOLD_SCHEMA",
    "ORDER_PLACED",
    "PRODUCT_CATEGORIES",
    "QUARANTINE_SCHEMA",
    "REGIONS",
    "REGION_WEIGHTS",
]

ORDER_PLACED = "ORDER_PLACED"
EVENT_TYPES = ("ORDER_PLACED", "ORDER_CANCELLED", "ORDER_UPDATED")
#: Weighted the way the design says real traffic is skewed (they add up to 1).
REGION_WEIGHTS = {
    "us-east": 0.35,
    "us-west": 0.25,
    "eu-west": 0.20,
    "eu-central": 0.12,
    "ap-southeast": 0.08,
}
REGIONS = tuple(REGION_WEIGHTS)
PRODUCT_CATEGORIES = ("Electronics", "Apparel", "Sports", "Home", "Health", "Appliances")

#: The JSON payload the producer writes and the pipeline parses (explicit: no inference).
#: ``event_timestamp`` is ISO-8601 in UTC with milliseconds, e.g. ``2026-11-26T14:03:27.512Z``.
EVENT_SCHEMA = StructType(
    [
        StructField("order_id", StringType()),
        StructField("customer_id", StringType()),
        StructField("product_id", StringType()),
        StructField("product_name", StringType()),
        StructField("product_category", StringType()),
        StructField("quantity", IntegerType()),
        StructField("unit_price", DoubleType()),
        StructField("total_price", DoubleType()),
        StructField("event_type", StringType()),
        StructField("region", StringType()),
        StructField("event_timestamp", TimestampType()),
    ]
)
EVENT_FIELDS: tuple[str, ...] = tuple(field.name for field in EVENT_SCHEMA.fields)

#: Bronze: every valid event as-is plus where Kafka had it; partitioned by ``event_date``.
BRONZE_SCHEMA = StructType(
    [
        *EVENT_SCHEMA.fields,
        StructField("kafka_ingest_ts", TimestampType()),
        StructField("kafka_partition", IntegerType()),
        StructField("kafka_offset", LongType()),
        StructField("event_date", DateType()),
    ]
)

#: Quarantine: every record that failed validation, with why, and where to find it in Kafka.
QUARANTINE_SCHEMA = StructType(
    [
        StructField("raw_value", StringType()),
        StructField("raw_value_base64", StringType()),
        StructField("reasons", ArrayType(StringType())),
        StructField("kafka_topic", StringType()),
        StructField("kafka_partition", IntegerType()),
        StructField("kafka_offset", LongType()),
        StructField("kafka_ingest_ts", TimestampType()),
    ]
)

#: Gold: one row per 5-minute window, region and product category (ORDER_PLACED only).
GOLD_KEY = ("window_start", "region", "product_category")
GOLD_SCHEMA = StructType(
    [
        StructField("window_start", TimestampType()),
        StructField("window_end", TimestampType()),
        StructField("region", StringType()),
        StructField("product_category", StringType()),
        StructField("order_count", LongType()),
        StructField("total_revenue", DoubleType()),
        StructField("avg_order_value", DoubleType()),
        StructField("total_units_sold", LongType()),
        StructField("unique_customers", LongType()),
    ]
)

#: The product catalogue, ``data/products.csv`` — read with this schema, never inferred (inference
#: scans the file; a stream's static side is recomputed at every micro-batch).
CATALOGUE_SCHEMA = StructType(
    [
        StructField("product_id", StringType()),
        StructField("product_name", StringType()),
        StructField("product_category", StringType()),
        StructField("base_price", DoubleType()),
    ]
)
