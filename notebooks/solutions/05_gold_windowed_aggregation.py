"""Reference solutions for 05_gold_windowed_aggregation.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``spark``, ``paths``, ``F``, ``datetime``, ``DeltaTable``, ``gold_from_orders``,
``scenario_phases`` and ``load_scenario`` come from the notebook's earlier cells.
"""
# ruff: noqa: F821

# %% exercise:05.1
from datetime import timedelta

window_start = datetime(2026, 1, 15, 10, 0)
bronze = spark.read.format("delta").load(paths.bronze)
orders = bronze.filter(
    (F.col("event_type") == "ORDER_PLACED")  # Gold sums placed orders only
    & (F.col("region") == "us-east")
    & (F.col("event_timestamp") >= window_start)  # the start is in the window...
    & (F.col("event_timestamp") < window_start + timedelta(minutes=5))  # ...the end is not
).dropDuplicates(["order_id", "customer_id", "quantity", "total_price"])  # a re-sent copy once
revenue = round(orders.agg(F.sum("total_price")).first()[0], 2)
print(revenue)

# %% exercise:05.2
final_mode = "append"

# %% exercise:05.3
gold_phases = scenario_phases(load_scenario("duplicates")) + scenario_phases(
    load_scenario("too_late")
)


def start_my_gold(events, gold_path, checkpoint):
    """Gold: a set of orders per window, region and category, MERGEd in update mode."""
    orders = (
        events.filter(F.col("event_type") == "ORDER_PLACED")
        .withWatermark("event_timestamp", "10 minutes")
        .groupBy(F.window("event_timestamp", "5 minutes"), "region", "product_category")
        .agg(
            F.collect_set(F.struct("order_id", "customer_id", "quantity", "total_price")).alias(
                "orders"
            )
        )
    )
    condition = (
        "gold.window_start = updates.window_start AND gold.region = updates.region "
        "AND gold.product_category = updates.product_category"
    )

    def upsert(batch, batch_id):
        # update mode emits a window's full new values: overwrite, never add
        (
            DeltaTable.forPath(batch.sparkSession, gold_path)
            .alias("gold")
            .merge(batch.alias("updates"), condition)
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )

    return (
        gold_from_orders(orders)
        .writeStream.outputMode("update")
        .foreachBatch(upsert)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )


# %% exercise:05.4
boundary_phases = scenario_phases(load_scenario("window_boundary"))


def sliding_revenue(events):
    """Revenue per region in 10-minute windows that start every 5 minutes (each event in two)."""
    return (
        events.filter(F.col("event_type") == "ORDER_PLACED")
        .withWatermark("event_timestamp", "10 minutes")
        .groupBy(F.window("event_timestamp", "10 minutes", "5 minutes"), "region")
        .agg(F.sum("total_price").alias("revenue"))
    )
