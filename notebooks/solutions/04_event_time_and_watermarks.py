"""Reference solutions for 04_event_time_and_watermarks.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``third_run``, ``F`` and ``datetime`` come from the notebook's earlier cells.
"""
# ruff: noqa: F821

# %% exercise:04.1
from datetime import timedelta

watermark = datetime(2026, 1, 15, 10, 12)
event_times = [
    datetime(2026, 1, 15, 10, 3, 20),
    datetime(2026, 1, 15, 10, 11),
    datetime(2026, 1, 15, 10, 9, 59, 999000),
    datetime(2026, 1, 15, 10, 14, 59),
]


def window_end(moment):
    """The end of the 5-minute window holding ``moment`` (windows start at :00, :05, :10, ...)."""
    start = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
    return start + timedelta(minutes=5)


counts = [window_end(moment) > watermark for moment in event_times]
print(counts)


# %% exercise:04.2
def last_watermark(query):
    """The watermark the query's last micro-batch ran with, from its progress report."""
    return query.lastProgress["eventTime"]["watermark"]


print(last_watermark(third_run.gold), last_watermark(pipeline.gold))

# %% exercise:04.3
from datetime import timedelta  # noqa: E402, F811 (each block stands alone in its cell)

batches = [
    ["10:01", "10:03", "10:07", "10:18"],  # micro-batch 1
    ["10:02", "10:06", "10:12", "10:24"],  # micro-batch 2
    ["10:09", "10:13", "10:16", "10:29"],  # micro-batch 3
]
predicted_counts = {}
watermark = None  # batch 1 runs without one
newest = None
for batch in batches:
    times = [datetime.strptime(t, "%H:%M") for t in batch]
    for moment in times:  # every event of a batch is judged against the same watermark
        start = moment.replace(minute=moment.minute - moment.minute % 5)
        if watermark is None or start + timedelta(minutes=5) > watermark:  # its window's END
            key = f"{start:%H:%M}"
            predicted_counts[key] = predicted_counts.get(key, 0) + 1
    newest = max(times) if newest is None else max(newest, *times)
    watermark = newest - timedelta(minutes=10)  # for the next batch
print(predicted_counts)


# %% exercise:04.4
def orders_per_window(events):
    """ORDER_PLACED events per 5-minute window of event time, late ones dropped by the watermark."""
    return (
        events.filter(F.col("event_type") == "ORDER_PLACED")
        .withWatermark("event_timestamp", "10 minutes")
        .groupBy(F.window("event_timestamp", "5 minutes"))
        .count()
    )
