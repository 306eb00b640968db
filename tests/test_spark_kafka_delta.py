"""Spark reads the topic with its Kafka source, writes Delta, and reads the table back."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from confluent_kafka import Producer
from pyspark.sql import functions as F

pytestmark = [pytest.mark.kafka, pytest.mark.spark]


def test_kafka_source_to_delta_and_back(kafka, topic, spark, tmp_path):
    producer = Producer(kafka.client_config())
    rows = [(f"k{i}", f"v{i}") for i in range(30)]
    for key, value in rows:
        producer.produce(topic, key=key.encode(), value=value.encode())
    assert producer.flush(15) == 0

    stream = (
        spark.readStream.format("kafka")
        .options(**kafka.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .load()
        .select(
            F.col("key").cast("string").alias("key"), F.col("value").cast("string").alias("value")
        )
    )
    table = str(tmp_path / "table")
    query = (
        stream.writeStream.format("delta")
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .trigger(availableNow=True)
        .start(table)
    )
    try:
        query.awaitTermination(120)
    finally:
        query.stop()
    assert query.exception() is None

    expected = spark.createDataFrame(rows, "key string, value string")
    actual = spark.read.format("delta").load(table)
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
