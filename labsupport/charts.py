"""Pictures of a stream: event time, windows and the watermark, per micro-batch.

:func:`windows_on_a_line` draws recorded phases as the rule sees them (windows, watermark,
events), from :mod:`labsupport.predict` before anything runs. The others draw real runs:
:func:`progress_chart` a query's progress reports (max event time, the watermark following 10
minutes behind, rows dropped as late); :func:`plot_event_time` every ORDER_PLACED event against
the Gold batch that read it and the watermark that batch ran with, read back from Bronze and the
Gold checkpoint (:func:`labsupport.observe.gold_fates`); :func:`emitted_chart` what each
micro-batch of an aggregation emitted, per output mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pyspark.sql import SparkSession

from labsupport.checkpoint import batch_history
from labsupport.config import WATERMARK_DELAY, WINDOW, LabPaths
from labsupport.errors import LabError
from labsupport.observe import gold_fates
from labsupport.predict import Phases, clock, predict_fates, predict_watermarks, window_of
from labsupport.schema import ORDER_PLACED

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from labsupport.phased import EmittedBatch

__all__ = ["emitted_chart", "plot_event_time", "progress_chart", "windows_on_a_line"]


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


def windows_on_a_line(phases: Phases, ax: Axes | None = None, title: str = "") -> Axes:
    """Each phase's micro-batch as a row on one event-time line: its events, the windows, its watermark.

    Drawn from :mod:`labsupport.predict` alone (no Spark): one row per phase, top to bottom;
    the 5-minute windows as tiles, those whose *end* is at or before the batch's watermark
    closed (grey, hatched); the batch's ORDER_PLACED events as dots, or red crosses when they
    fall in a closed window; the watermark the batch runs with as an orange bar.
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if ax is None:
        _, ax = plt.subplots(figsize=(11, 1.2 + 1.1 * len(phases)))
    fates = [f for f in predict_fates(phases) if f["event_type"] == ORDER_PLACED]
    watermarks = predict_watermarks(phases)
    if not fates:
        raise LabError("windows_on_a_line needs at least one valid ORDER_PLACED event.")
    moments = [f["event_timestamp"] for f in fates] + [w for w in watermarks if w is not None]
    low, high = window_of(min(moments))[0], window_of(max(moments))[1]
    width = WINDOW.total_seconds() / 86_400  # matplotlib dates count in days
    for row, watermark in enumerate(watermarks):
        y = len(watermarks) - 1 - row
        start = low
        while start < high:
            closed = watermark is not None and start + WINDOW <= watermark
            ax.add_patch(
                Rectangle(
                    (mdates.date2num(start), y - 0.3), width, 0.6,
                    facecolor="0.85" if closed else ("#dbe9f6" if start.minute % 10 else "#c6dbef"),
                    hatch="///" if closed else None, edgecolor="white", zorder=1,
                )
            )  # fmt: skip
            start += WINDOW
        if watermark is None:
            ax.annotate("no watermark yet", (mdates.date2num(low), y + 0.32), fontsize="small",
                        color="tab:orange", va="bottom")  # fmt: skip
        else:
            ax.vlines(watermark, y - 0.42, y + 0.42, color="tab:orange", linewidth=3, zorder=2)
            ax.annotate(f"watermark {clock(watermark)}", (mdates.date2num(watermark), y + 0.42),
                        fontsize="small", color="tab:orange", ha="center", va="bottom")  # fmt: skip
        for fate in (f for f in fates if f["phase"] == row + 1):
            dropped = fate["fate"] == "dropped_late"
            ax.scatter(fate["event_timestamp"], y, zorder=3,
                       marker="x" if dropped else "o", s=70 if dropped else 30,
                       color="tab:red" if dropped else "tab:blue")  # fmt: skip
    ax.set_xlim(mdates.date2num(low), mdates.date2num(high))
    ax.set_ylim(-0.6, len(watermarks) - 0.2)
    ax.set_yticks(
        range(len(watermarks)),
        [f"phase {len(watermarks) - y}'s batch" for y in range(len(watermarks))],
    )
    ax.xaxis.set_major_locator(mdates.MinuteLocator(byminute=range(0, 60, 5)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_xlabel(
        "event time (UTC) · tiles: 5-minute windows · grey: closed · x: lands in a closed one"
    )
    ax.set_title(title)
    return ax


def emitted_chart(emitted: Mapping[str, Sequence[EmittedBatch]], title: str = "") -> Figure:
    """One panel per output mode: which windows each micro-batch emitted, and how many rows.

    ``emitted`` is :func:`labsupport.output_modes.emitted_by_mode`'s result. A mark at (batch,
    window) says the batch emitted rows of that window; its number is how many (one per region ×
    category that changed, or became final). A grey band is a no-data batch: no input, only a
    watermark that moved.
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(emitted), figsize=(6 * len(emitted), 3.8), sharey=True)
    axes = [axes] if len(emitted) == 1 else list(axes)
    starts = sorted({row["window_start"] for b in emitted.values() for x in b for row in x.rows})
    for ax, (mode, batches) in zip(axes, emitted.items(), strict=True):
        for batch in batches:
            if batch.input_rows == 0:
                ax.axvspan(batch.batch_id - 0.45, batch.batch_id + 0.45, color="0.92", zorder=0)
            per_window: dict[datetime, int] = {}
            for row in batch.rows:
                per_window[row["window_start"]] = per_window.get(row["window_start"], 0) + 1
            for start, count in per_window.items():
                ax.scatter(batch.batch_id, start, s=80 + 40 * count, color="tab:green", alpha=0.5)
                ax.annotate(str(count), (batch.batch_id, mdates.date2num(start)), ha="center",
                            va="center", fontsize="small")  # fmt: skip
        total = sum(len(batch.rows) for batch in batches)
        ax.set_title(f"{mode} mode: {total} rows emitted")
        ax.set_xlim(-0.5, len(batches) - 0.5)
        ax.set_xticks(
            [b.batch_id for b in batches],
            [f"{b.batch_id}\n{b.input_rows} in" for b in batches],
        )
        ax.set_xlabel("micro-batch (and its input rows; grey: a no-data batch)")
    if starts:
        axes[0].set_yticks(starts)
    axes[0].yaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    axes[0].set_ylabel("window start (UTC)")
    figure.suptitle(title or "what each micro-batch emitted (number: Gold rows of that window)")
    figure.tight_layout()
    plt.close(figure)
    return figure
