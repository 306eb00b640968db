"""Reference solutions for 07_querying_and_operating.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``spark``, ``paths``, ``F``, ``Path``, ``json``, ``Consumer``,
``TopicPartition``, ``shutil``, ``EVENT_FIELDS``, ``load_scenario``, ``replay_scenario`` and
``run_available_now`` come from the notebook's earlier cells.
"""
# ruff: noqa: F821

# %% exercise:07.1
gold_v1 = spark.read.format("delta").option("versionAsOf", 1).load(paths.gold)
revenue_v1 = gold_v1.agg(F.sum("total_revenue")).first()[0]
print(f"Gold's total revenue at version 1: {revenue_v1:.2f}")

# %% exercise:07.2
gold_checkpoint = Path(paths.checkpoint("gold"))
consumer = Consumer(
    {
        **lesson.kafka.client_config(),
        "group.id": lesson.group_id("lag"),
        "enable.auto.commit": False,
    }
)
try:
    partitions = (
        consumer.list_topics(topic=lesson.topic, timeout=10).topics[lesson.topic].partitions
    )
    end = {
        p: consumer.get_watermark_offsets(TopicPartition(lesson.topic, p), timeout=10)[1]
        for p in partitions
    }
finally:
    consumer.close()
last = max(int(f.name) for f in (gold_checkpoint / "commits").iterdir() if f.name.isdigit())
offsets_line = (gold_checkpoint / "offsets" / str(last)).read_text().splitlines()[-1]
committed = {int(p): o for p, o in json.loads(offsets_line)[lesson.topic].items()}
gold_lag = {p: end[p] - committed[p] for p in end}
print("Gold's lag per partition:", gold_lag)

# %% exercise:07.3
bare_query = (
    spark.readStream.format("kafka")
    .options(**lesson.kafka.spark_options())
    .option("subscribe", lesson.topic)
    .option("startingOffsets", "earliest")
    .load()
    .select("key", "value", "partition", "offset", "timestamp")
    .writeStream.format("delta")
    .option("checkpointLocation", lesson.checkpoint("bare"))
    .trigger(availableNow=True)
    .start(lesson.table("bare"))
)

# %% exercise:07.4
replay_scenario(lesson.kafka, lesson.topic, load_scenario("duplicates"))
run_available_now(spark, lesson.kafka, lesson.topic, paths, timeout=240)
for folder in (lesson.table("silver"), lesson.checkpoint("silver")):  # each try from nothing
    shutil.rmtree(folder, ignore_errors=True)
my_silver_query = (
    spark.readStream.format("delta")
    .load(paths.bronze)  # Bronze as a streaming source
    .filter(F.col("event_type") == "ORDER_PLACED")
    .withWatermark("event_timestamp", "10 minutes")
    .dropDuplicatesWithinWatermark(["order_id"])  # a re-sent copy, within 10 minutes
    .select(*EVENT_FIELDS)
    .writeStream.format("delta")
    .option("checkpointLocation", lesson.checkpoint("silver"))
    .trigger(availableNow=True)
    .start(lesson.table("silver"))
)
