"""Reference solutions for 04_event_time_and_watermarks.ipynb — try the exercises first.

Each block replaces the notebook cell tagged with the same ``exercise:NN.k`` when CI runs the
notebook (``tests/notebook_runner.py``, CI tooling). A block is not a module of its own: names
such as ``lesson``, ``third_run`` and ``datetime`` come from the notebook's earlier cells.
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
last_watermark = third_run.gold.lastProgress["eventTime"]["watermark"]
print(last_watermark)
