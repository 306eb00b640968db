"""Reference solutions for 03_bronze_ingestion.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``spark``, ``DeltaTable``, ``F``, ``bronze_rows``, ``valid_events``,
``validate_records``, ``shutil``, ``CATALOGUE_FILE`` and ``CATALOGUE_SCHEMA`` come from the notebook's earlier
cells.
"""
# ruff: noqa: F821

# %% exercise:03.1
bronze = spark.read.format("delta").load(lesson.paths.bronze)
eu_west_rows = bronze.where(F.col("region") == "eu-west").count()
print(f"Bronze holds {eu_west_rows} eu-west rows")


# %% exercise:03.2
def busiest_version(table_path):
    """The version of the Delta table at ``table_path`` whose commit wrote the most rows."""
    history = DeltaTable.forPath(spark, table_path).history()
    rows_per_version = history.select(
        "version", F.col("operationMetrics")["numOutputRows"].cast("long").alias("rows")
    ).where(F.col("rows").isNotNull())
    return rows_per_version.orderBy(F.desc("rows"), "version").first()["version"]


print(f"version {busiest_version(lesson.paths.bronze)} of Bronze added the most rows")

# %% exercise:03.3
records = (
    spark.readStream.format("kafka")
    .options(**lesson.kafka.spark_options())
    .option("subscribe", lesson.topic)
    .option("startingOffsets", "earliest")
    .load()
)
my_bronze_query = (
    bronze_rows(valid_events(validate_records(records)))
    .writeStream.format("delta")
    .outputMode("append")
    .partitionBy("event_date")
    .option("checkpointLocation", lesson.checkpoint("my_bronze"))
    .trigger(availableNow=True)
    .start(lesson.table("my_bronze"))
)

# %% exercise:03.4
catalogue = spark.read.csv(str(CATALOGUE_FILE), header=True, schema=CATALOGUE_SCHEMA)
catalogue.show()
for folder in (lesson.table("priced_orders"), lesson.checkpoint("priced_orders")):
    shutil.rmtree(folder, ignore_errors=True)  # each try starts from nothing
priced_query = (
    spark.readStream.format("delta")
    .load(lesson.paths.bronze)  # a Delta table as a streaming source
    .filter(F.col("event_type") == "ORDER_PLACED")
    .join(catalogue.select("product_id", "base_price"), "product_id", "left")  # static side
    .select("order_id", "product_id", "quantity", "unit_price", "base_price")
    .writeStream.format("delta")
    .option("checkpointLocation", lesson.checkpoint("priced_orders"))
    .trigger(availableNow=True)
    .start(lesson.table("priced_orders"))
)
