"""Progress pushed, not polled: a ``StreamingQueryListener`` that keeps every query's events.

:mod:`labsupport.live` polls one query's ``recentProgress``; a monitoring system cannot poll
every query of every job. Spark calls a *listener* instead — once when a query starts, after
every micro-batch with its progress report, when a query is idle, and when it terminates (with
its error, if it failed) — for every query of the session. :class:`ProgressListener` keeps
those events in a list, which :func:`watch_events` shows as a table that refreshes in place.
Spark calls the listener from its own thread, after the batch: it must be quick and never
raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pyspark.sql.streaming import StreamingQueryListener

from labsupport.live import in_notebook

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import SparkSession

__all__ = ["ProgressListener", "listening", "watch_events"]


class ProgressListener(StreamingQueryListener):
    """Every event of every streaming query of the session, in the order Spark sent them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}  # query id -> name (later events carry only the id)

    def _add(self, kind: str, query_id: object, **details: Any) -> None:
        name = self.names.get(str(query_id), str(query_id)[:8])
        self.events.append({"event": kind, "query": name, **details})

    def onQueryStarted(self, event: Any) -> None:
        self.names[str(event.id)] = event.name or str(event.id)[:8]
        self._add("started", event.id, at=event.timestamp)

    def onQueryProgress(self, event: Any) -> None:
        progress = event.progress
        self._add(
            "progress", progress.id, at=progress.timestamp, batch=progress.batchId,
            rows=progress.numInputRows,
            seconds=progress.durationMs.get("triggerExecution", 0) / 1000,
            watermark=(progress.eventTime or {}).get("watermark"),
        )  # fmt: skip

    def onQueryIdle(self, event: Any) -> None:
        self._add("idle", event.id, at=event.timestamp)

    def onQueryTerminated(self, event: Any) -> None:
        error = (event.exception or "").splitlines()[0] if event.exception else None
        self._add("terminated", event.id, error=error)

    def frame(self) -> pd.DataFrame:
        """The events so far, one row each."""
        import pandas as pd

        return pd.DataFrame(list(self.events))


@contextmanager
def listening(spark: SparkSession) -> Iterator[ProgressListener]:
    """Register a :class:`ProgressListener` for the ``with`` block; removed again on leaving."""
    listener = ProgressListener()
    spark.streams.addListener(listener)
    try:
        yield listener
    finally:
        spark.streams.removeListener(listener)


def watch_events(
    listener: ProgressListener,
    *,
    seconds: float,
    every: float = 1.0,
    stop_when: Callable[[pd.DataFrame], bool] | None = None,
) -> pd.DataFrame:
    """Show the listener's events as a table redrawn in place, for at most ``seconds`` s.

    Nothing is polled from a query: the table is what Spark pushed. Returns the last table.
    """
    drawing = in_notebook()
    handle = None
    if drawing:
        from IPython.display import display

        handle = display(listener.frame(), display_id=True)
    deadline = time.monotonic() + seconds
    shown = -1
    while True:
        frame = listener.frame()
        if handle is not None and len(frame) != shown:
            shown = len(frame)
            handle.update(frame)
        if time.monotonic() >= deadline or (stop_when is not None and stop_when(frame)):
            return frame
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))
