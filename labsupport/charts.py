"""Pictures of a stream: event time against the watermark, per micro-batch.

Two charts, both from real runs: :func:`progress_chart` draws a query's progress reports (max
event time, the watermark following 10 minutes behind, rows dropped as late); :func:`plot_event_time`
draws every ORDER_PLACED event against the Gold batch that read it and the watermark that batch
ran with, read back from Bronze and the Gold checkpoint (:func:`labsupport.observe.gold_fates`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import SparkSession

from labsupport.checkpoint import batch_history
from labsupport.config import WATERMARK_DELAY, WINDOW, LabPaths
from labsupport.observe import gold_fates
from labsupport.predict import window_of

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_event_time", "progress_chart"]


def _whole_batches(ax: Axes) -> None:
    """Micro-batches are numbered 0, 1, 2: no tick at batch 0.25."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def progress_chart(frame: pd.DataFrame, title: str = "") -> Figure:
    """Max event time and watermark per micro-batch (lines), and rows dropped as late (bars)."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.ticker import MaxNLocator

    figure, (times, dropped) = plt.subplots(
        1, 2, figsize=(12, 3.2), gridspec_kw={"width_ratios": [3, 1]}
    )
    with_time = frame.dropna(subset=["max_event_time"]) if len(frame) else frame
    if len(with_time):
        times.step(
            with_time["batch"],
            pd.to_datetime(with_time["max_event_time"]),
            where="post",
            label="max event time",
        )
        # Before its first event a query reports the watermark 1970-01-01 ("none yet"): drawn,
        # it would stretch the axis over 56 years and flatten both lines into one.
        watermark = pd.to_datetime(with_time["watermark"])
        has_one = watermark > pd.Timestamp("1970-01-02", tz=watermark.dt.tz)
        times.step(
            with_time["batch"][has_one],
            watermark[has_one],
            where="post",
            label=f"watermark (max − {WATERMARK_DELAY}; none before the first batch)",
        )
        times.legend(loc="best", fontsize="small")
        times.yaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    _whole_batches(times)
    times.set_xlabel("micro-batch")
    times.set_ylabel("event time (UTC)")
    times.set_title(title or "event time and watermark per micro-batch")
    if len(frame):
        dropped.bar(frame["batch"], frame["dropped_by_watermark"], color="tab:red")
    _whole_batches(dropped)
    dropped.yaxis.set_major_locator(MaxNLocator(integer=True))
    dropped.set_xlabel("micro-batch")
    dropped.set_title("dropped by watermark (groups)")
    figure.tight_layout()
    plt.close(figure)  # shown through the display handle only, never twice
    return figure


def plot_event_time(
    spark: SparkSession, paths: LabPaths, ax: Axes | None = None, title: str = ""
) -> Axes:
    """Events by event time (y) and the Gold micro-batch that read them (x), with the watermark.

    Counted events are dots, events dropped as too late are red crosses; the step line is the
    watermark each batch ran with (taken from the checkpoint), the dotted lines the window
    boundaries. An event below the line can still count: what matters is its window's *end*.
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    events = gold_fates(spark, paths)
    history = [b for b in batch_history(paths.checkpoint("gold")) if b.watermark.year > 1970]
    for dropped, style in ((False, {"marker": "o", "color": "tab:blue"}),
                           (True, {"marker": "x", "color": "tab:red", "s": 80})):  # fmt: skip
        chosen = [e for e in events if e["dropped"] == dropped]
        ax.scatter(
            [e["batch"] for e in chosen],
            [e["event_timestamp"] for e in chosen],
            label="dropped as too late" if dropped else "counted in Gold",
            zorder=3,
            **style,
        )
    if history:
        ax.step(
            [b.batch_id for b in history],
            [b.watermark for b in history],
            where="mid",
            color="tab:orange",
            label="watermark of the batch",
        )
    if events:
        low = window_of(min(e["event_timestamp"] for e in events))[0]
        high = window_of(max(e["event_timestamp"] for e in events))[1]
        while low <= high:
            ax.axhline(low, color="grey", linewidth=0.5, linestyle=":")
            low += WINDOW
    _whole_batches(ax)
    ax.set_xlabel("Gold micro-batch (processing order)")
    ax.set_ylabel("event time")
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    ax.yaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    return ax
