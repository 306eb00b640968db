"""Reference solutions for 06_checkpoints_and_exactly_once.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``spark``, ``paths``, ``Path``, ``json`` and ``F`` come from the notebook's
earlier cells.
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
