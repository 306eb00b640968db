"""Reference solutions for 06_checkpoints_and_exactly_once.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``spark``, ``paths``, ``Path``, ``json``, ``F``, ``shutil``, ``time``,
``recreate_topic`` and ``produce_events`` come from the notebook's earlier cells.
"""
# ruff: noqa: F821

# %% exercise:06.1
checkpoint = Path(paths.checkpoint("bronze"))
last_batch = max(int(f.name) for f in (checkpoint / "commits").iterdir() if f.name.isdigit())
offsets_file = (checkpoint / "offsets" / str(last_batch)).read_text().splitlines()
end_offsets = {int(p): o for p, o in json.loads(offsets_file[-1])[lesson.topic].items()}
print(f"last committed batch {last_batch}; the next one starts at {end_offsets}")

# %% exercise:06.2
bronze = spark.read.format("delta").load(paths.bronze)
duplicated_pairs = (
    bronze.groupBy("kafka_partition", "kafka_offset").count().where(F.col("count") > 1).count()
)
print(duplicated_pairs, "Kafka records are in Bronze more than once")

# %% exercise:06.3
restart_topic = f"{lesson.topic}-restart"
recreate_topic(lesson.kafka, restart_topic)  # empty: its offsets start from 0
produce_events(lesson.kafka, restart_topic, rate=5_000, count=200, seed=63, progress=False)
copy_table, copy_checkpoint = lesson.table("restart_copy"), lesson.checkpoint("restart_copy")
for folder in (copy_table, copy_checkpoint):  # run after run, start from nothing
    shutil.rmtree(folder, ignore_errors=True)


def start_copy(**trigger):
    """Copy restart_topic to Delta, 40 records a batch at most; the checkpoint makes it resumable."""
    return (
        spark.readStream.format("kafka")
        .options(**lesson.kafka.spark_options())
        .option("subscribe", restart_topic)
        .option("startingOffsets", "earliest")  # the first run only: then the checkpoint decides
        .option("maxOffsetsPerTrigger", 40)
        .load()
        .select("partition", "offset", "value")
        .writeStream.format("delta")
        .option("checkpointLocation", copy_checkpoint)
        .trigger(**trigger)
        .start(copy_table)
    )


first_run = start_copy(processingTime="1 second")
deadline = time.monotonic() + 60
while len(first_run.recentProgress) < 2 and time.monotonic() < deadline:
    time.sleep(0.2)
first_run.stop()  # mid-flight: most of the topic is still unread
second_run = start_copy(availableNow=True)  # same checkpoint: it resumes where run 1 committed
restart_runs = (first_run, second_run)


# %% exercise:06.4
def not_exactly_once(copy, end_offsets):
    """Every record of the topic that ``copy`` holds other than once: (partition, offset, copies)."""
    every_record = spark.createDataFrame(
        [(p, o) for p, end in end_offsets.items() for o in range(end)],
        "partition int, offset long",
    )
    held = copy.groupBy("partition", "offset").agg(F.count("*").alias("copies"))
    return (
        every_record.join(held, ["partition", "offset"], "full_outer")
        .select("partition", "offset", F.coalesce("copies", F.lit(0)).alias("copies"))
        .where(F.col("copies") != 1)
    )
