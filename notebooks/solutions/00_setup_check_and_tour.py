"""Reference solutions for 00_setup_check_and_tour.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``spark`` and ``AdminClient`` come from the notebook's earlier cells.
"""
# ruff: noqa: F821

# %% exercise:00.1
admin = AdminClient(lesson.kafka.client_config())


def partitions_of(topic):
    """How many partitions ``topic`` has, asked of the broker."""
    metadata = admin.list_topics(topic=topic, timeout=10)
    return len(metadata.topics[topic].partitions)


print(f"{lesson.topic} has {partitions_of(lesson.topic)} partitions")

# %% exercise:00.2
delta_extension = spark.conf.get("spark.sql.extensions")
print(delta_extension)

# %% exercise:00.3
path = lesson.table("exercise_00_3")
orders = spark.createDataFrame(
    [("o-1", "us-east", 19.99), ("o-2", "eu-west", 5.0), ("o-3", "ap-southeast", 42.5)],
    "order_id string, region string, total_price double",
)
orders.write.format("delta").mode("overwrite").save(path)
table_back = spark.read.format("delta").load(path)
table_back.show()
