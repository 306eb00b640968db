"""Reference solutions for 05_gold_windowed_aggregation.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``spark``, ``paths``, ``F`` and ``datetime`` come from the notebook's earlier cells.
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
