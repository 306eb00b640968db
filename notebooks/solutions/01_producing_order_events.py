"""Reference solutions for 01_producing_order_events.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``records``, ``events`` and ``order_x`` come from the notebook's earlier cells.
"""
# ruff: noqa: F821

# %% exercise:01.1
print("order_x =", order_x)
x_partition = int(records.loc[records["key"] == order_x, "partition"].iloc[0])
print(f"order {order_x} is in partition {x_partition}")

# %% exercise:01.2
us_east_share = (events["region"] == "us-east").mean()
print(f"{us_east_share:.3f} of the events are us-east (design: {REGION_WEIGHTS['us-east']})")
