"""The lesson code: small, pure DataFrame functions from Kafka records to Bronze and Gold rows.

Every function works on a batch DataFrame and on a streaming one alike, so a lesson can show a
step on a handful of rows and then run the very same function as a stream:

    Kafka records ─ decode_records ─ parse_events ─ validate_events ─┬─ bronze_rows ─── Bronze
                                                                      ├─ quarantine_rows ─ quarantine
                                                                      └─ gold_windows ─── Gold

Nothing is dropped silently: a record that fails validation keeps its raw value and the reasons
why, and goes to the quarantine table; records in = Bronze rows + quarantine rows, always.

>>> GOLD_RULE.startswith("An ORDER_PLACED event counts")
True
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from labsupport.config import FUTURE_TOLERANCE, WATERMARK, WATERMARK_DELAY, WINDOW, WINDOW_DURATION
from labsupport.contract import CENT, FUTURE_REASON
from labsupport.schema import (
    BRONZE_SCHEMA,
    EVENT_SCHEMA,
    EVENT_TYPES,
    ORDER_PLACED,
    PRODUCT_CATEGORIES,
    QUARANTINE_SCHEMA,
    REGIONS,
)

__all__ = [
    "GOLD_RULE",
    "bronze_rows",
    "decode_records",
    "gold_from_orders",
    "gold_windows",
    "invalid_records",
    "parse_events",
    "parse_events_plainly",
    "quarantine_rows",
    "valid_events",
    "validate_events",
    "validate_records",
]

#: The late-data rule Gold obeys, in one sentence (the notebooks and the README quote it).
GOLD_RULE = (
    "An ORDER_PLACED event counts in Gold if, when its micro-batch runs, the end of its "
    f"{WINDOW // timedelta(minutes=1)}-minute window is later than the watermark — the largest "
    f"event_timestamp seen in earlier micro-batches minus {WATERMARK // timedelta(minutes=1)} "
    "minutes; otherwise Spark drops it as too late (it stays in Bronze). "
    "The watermark is stored in the checkpoint, so it survives restarts."
)

_TYPE_NAMES = {"string": "a string", "int": "an integer", "double": "a number",
               "timestamp": "an ISO-8601 timestamp"}  # fmt: skip


def decode_records(records: DataFrame) -> DataFrame:
    """Kafka's columns → the value as text (when it is valid UTF-8), its raw bytes, and where it came from.

    ``kafka_ingest_ts`` is the record timestamp; on the lab's topic (``LogAppendTime``) that is
    the broker's receipt time.
    """
    return records.select(
        F.col("value").alias("raw_bytes"),
        F.when(F.is_valid_utf8(F.col("value").cast("string")), F.col("value").cast("string")).alias(
            "value_text"
        ),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_ingest_ts"),
    )


def parse_events(decoded: DataFrame) -> DataFrame:
    """Parse ``value_text`` with the explicit event schema (no inference, no scan), once.

    ``from_json`` never fails a stream: a field it cannot convert becomes null, a value that is not
    JSON becomes all nulls. ``json_keys`` (the object's keys, or null when the value is not a JSON
    object) lets :func:`validate_events` tell a *missing* field from a *mistyped* one.

    Why a generator (``inline`` of a one-row array) and not a plain ``withColumn``: Spark's
    optimizer pushes a filter below the projection that computes the columns it uses, by
    copying their expressions into it. The filters of :func:`valid_events` and
    :func:`invalid_records` use ``reasons``, made of some 40 rules that each read ``event``, so
    a plain column would put ``from_json`` into every rule: each record parsed dozens of times
    (``explain()`` shows it). A filter cannot be pushed below a generator, so here the JSON is
    parsed once per record, whatever comes after.
    """
    parsed = F.struct(
        F.from_json("value_text", EVENT_SCHEMA).alias("event"),
        F.json_object_keys("value_text").alias("json_keys"),
    )
    return decoded.select("*", F.inline(F.array(parsed)))


def parse_events_plainly(decoded: DataFrame) -> DataFrame:
    """The obvious parse — two plain columns — kept to show why :func:`parse_events` is not it.

    Its rows are the same as :func:`parse_events`'s, but after :func:`validate_events` and a
    filter the optimizer has copied ``from_json`` into every rule: lesson 02 counts the copies in
    ``explain()``, and ``make bench`` times the two side by side.
    """
    return decoded.withColumn("event", F.from_json("value_text", EVENT_SCHEMA)).withColumn(
        "json_keys", F.json_object_keys("value_text")
    )


def _validation_rules() -> list[tuple[Column, Column]]:
    """``(failed?, reason)`` pairs, one per rule of the event contract.

    :mod:`labsupport.contract` holds the same rules, worded the same, in plain Python.
    """
    event = F.col("event")
    keys = F.col("json_keys")
    rules: list[tuple[Column, Column]] = [
        (F.col("raw_bytes").isNull(), F.lit("record has no value")),
        (
            F.col("raw_bytes").isNotNull() & F.col("value_text").isNull(),
            F.lit("value is not valid UTF-8"),
        ),
        (F.col("value_text").isNotNull() & keys.isNull(), F.lit("value is not a JSON object")),
    ]
    for field in EVENT_SCHEMA.fields:
        # A field that parsed is neither missing nor mistyped: test that first, so a valid
        # record never searches the keys (Spark stops at the first false term of an AND).
        absent = event[field.name].isNull()
        present = F.array_contains(keys, field.name)
        type_name = _TYPE_NAMES[field.dataType.simpleString()]
        rules.append((absent & keys.isNotNull() & ~present, F.lit(f"missing field {field.name}")))
        rules.append((absent & present, F.lit(f"{field.name} is null or not {type_name}")))
    for field, allowed in (
        ("event_type", EVENT_TYPES),
        ("region", REGIONS),
        ("product_category", PRODUCT_CATEGORIES),
    ):
        value = event[field]
        rules.append(
            (
                value.isNotNull() & ~value.isin(*allowed),
                F.concat(F.lit(f"unknown {field} '"), value, F.lit("'")),
            )
        )
    rules += [
        (event.quantity < 1, F.lit("quantity must be at least 1")),
        (event.unit_price < 0, F.lit("unit_price must not be negative")),
        (event.total_price < 0, F.lit("total_price must not be negative")),
        (
            F.abs(event.total_price - event.unit_price * event.quantity) > CENT,
            F.lit("total_price is not unit_price × quantity"),
        ),
        (
            event.event_timestamp > F.col("kafka_ingest_ts") + F.lit(FUTURE_TOLERANCE),
            F.lit(FUTURE_REASON),
        ),
    ]
    return rules


def validate_events(parsed: DataFrame) -> DataFrame:
    """Add ``reasons``: every rule the record breaks (empty when it is a valid event)."""
    failures = [F.when(failed, reason) for failed, reason in _validation_rules()]
    no_reason = F.array(F.lit(None).cast("string"))
    return parsed.withColumn("reasons", F.array_except(F.array(*failures), no_reason))


def validate_records(records: DataFrame) -> DataFrame:
    """Kafka records → decoded, parsed and validated: the first three steps in one call."""
    return validate_events(parse_events(decode_records(records)))


def valid_events(validated: DataFrame) -> DataFrame:
    """Records that passed every rule, flattened to the event's fields plus Kafka's."""
    return validated.filter(F.size("reasons") == 0).select(
        "event.*", "kafka_ingest_ts", "kafka_partition", "kafka_offset"
    )


def invalid_records(validated: DataFrame) -> DataFrame:
    """Records that broke at least one rule (they go to quarantine, never away)."""
    return validated.filter(F.size("reasons") > 0)


def bronze_rows(events: DataFrame) -> DataFrame:
    """Valid events in the design's Bronze shape, with ``event_date`` to partition by."""
    return events.withColumn("event_date", F.to_date("event_timestamp")).select(
        *[F.col(field.name).cast(field.dataType) for field in BRONZE_SCHEMA.fields]
    )


def quarantine_rows(invalid: DataFrame) -> DataFrame:
    """Invalid records in the quarantine shape: raw value (text, and base64 when it is not text)."""
    return invalid.select(
        F.col("value_text").alias("raw_value"),
        F.when(
            F.col("value_text").isNull() & F.col("raw_bytes").isNotNull(), F.base64("raw_bytes")
        ).alias("raw_value_base64"),
        "reasons",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_ingest_ts",
    ).select(*[F.col(field.name).cast(field.dataType) for field in QUARANTINE_SCHEMA.fields])


def gold_windows(
    events: DataFrame, watermark: str = WATERMARK_DELAY, window: str = WINDOW_DURATION
) -> DataFrame:
    """Revenue per 5-minute event-time window, region and category: ORDER_PLACED only.

    Why a set of orders, not ``countDistinct``: exact distinct counts are rejected on streaming
    DataFrames, and ``approx_count_distinct`` is approximate. Keeping the window's orders as a
    set in the state store is exact, and it makes an event sent twice (same payload) count once.
    The set's metrics are computed by :func:`gold_from_orders`.

    Late data follows Spark's rule for windowed aggregations (see :data:`GOLD_RULE`); in
    update mode every micro-batch emits the windows it changed, with their full new values.
    """
    orders = (
        events.filter(F.col("event_type") == ORDER_PLACED)
        .withWatermark("event_timestamp", watermark)
        .groupBy(F.window("event_timestamp", window), "region", "product_category")
        .agg(
            F.collect_set(F.struct("order_id", "customer_id", "quantity", "total_price")).alias(
                "orders"
            )
        )
    )
    return gold_from_orders(orders)


def gold_from_orders(orders: DataFrame) -> DataFrame:
    """A window's set of distinct orders → the design's Gold columns.

    The set is sorted before it is summed: a sum of floats depends on its order, and a set's
    order on how its rows arrived (partitions, executors, a replay), so unsorted, the same
    orders could round to an average a cent apart.
    """
    in_order = F.array_sort("orders")
    revenue = F.aggregate(in_order, F.lit(0.0), lambda total, order: total + order.total_price)
    units = F.aggregate(
        in_order, F.lit(0).cast("long"), lambda total, order: total + order.quantity
    )
    order_count = F.size("orders").cast("long")
    return orders.select(
        F.col("window.start").alias("window_start"),
        F.col("window.end").alias("window_end"),
        "region",
        "product_category",
        order_count.alias("order_count"),
        F.round(revenue, 2).alias("total_revenue"),
        F.round(revenue / order_count, 2).alias("avg_order_value"),
        units.alias("total_units_sold"),
        F.size(F.array_distinct("orders.customer_id")).cast("long").alias("unique_customers"),
    )
