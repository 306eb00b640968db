"""Reference solutions for 02_parsing_and_validating.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``validated``, ``example``, ``validate_values``, ``encode_event``, ``read_topic``, ``F``,
``FUTURE_TOLERANCE`` and ``EVENT_SCHEMA`` come from the notebook's earlier cells.
"""
# ruff: noqa: F821

# %% exercise:02.1
several_reasons = validated.where(F.size("reasons") > 1).count()
print(f"{several_reasons} records broke more than one rule")

# %% exercise:02.2
zero_quantity = encode_event({**example, "quantity": 0, "total_price": 0.0})
zero_quantity_reasons = validate_values(zero_quantity).first().reasons
print(zero_quantity_reasons)

# %% exercise:02.3
tolerance = FUTURE_TOLERANCE


def from_the_future(decoded):
    """Records stamped more than `tolerance` after the broker received them."""
    parsed = decoded.select(
        "kafka_offset", "kafka_ingest_ts", F.from_json("value_text", EVENT_SCHEMA).alias("event")
    )
    ahead = F.col("event.event_timestamp") > F.col("kafka_ingest_ts") + F.lit(tolerance)
    return parsed.where(ahead).select("kafka_offset", "event.event_timestamp", "kafka_ingest_ts")


from_the_future(decode_records(read_topic())).show()  # the lesson's topic: none, its clocks agree
