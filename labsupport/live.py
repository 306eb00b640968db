"""Watching a stream while it runs: its micro-batches in a table and a chart that refresh in place.

:func:`labsupport.observe.progress_rows` reads a query's progress reports once; :func:`watch`
reads them every second for a bounded time, so a learner sees each micro-batch arrive — rows in,
max event time, the watermark following it 10 minutes behind, rows dropped as late, state rows
and evictions. In Jupyter the table and the chart are redrawn in one output area (IPython's
display handles); anywhere else (a test, a script) nothing is drawn and the table is returned.

A watch never hangs a cell: it returns after ``seconds`` whatever the stream does, and raises a
one-line :class:`~labsupport.errors.LabError` as soon as the query fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyspark.sql.streaming import StreamingQuery

from labsupport.charts import progress_chart
from labsupport.errors import LabError, explain_failure
from labsupport.observe import progress_rows

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["in_notebook", "watch"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel, where display handles can redraw an output in place."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def watch(
    query: StreamingQuery,
    *,
    seconds: float,
    every: float = 1.0,
    stop_when: Callable[[pd.DataFrame], bool] | None = None,
    chart: bool = True,
) -> pd.DataFrame:
    """Show ``query``'s micro-batches, refreshed every ``every`` s, for at most ``seconds`` s.

    ``stop_when(table)`` ends the watch early (e.g. once a batch dropped something). The query
    keeps running: stop it yourself (or use ``with`` on a :class:`~labsupport.runner.Pipeline`).
    Returns the last table.
    """
    import pandas as pd

    drawing = in_notebook()
    table_handle = chart_handle = None
    if drawing:
        from IPython.display import display

        table_handle = display(pd.DataFrame(), display_id=True)
        if chart:
            chart_handle = display(progress_chart(pd.DataFrame()), display_id=True)
    deadline = time.monotonic() + seconds
    shown = -1
    while True:
        error = query.exception()
        if error is not None:
            raise LabError(f"The {query.name} query failed while watched: {explain_failure(error)}")
        frame = pd.DataFrame(progress_rows(query))  # one row per batch
        if drawing and len(frame) != shown:
            shown = len(frame)
            table_handle.update(frame)
            if chart_handle is not None:
                chart_handle.update(progress_chart(frame, f"{query.name}: live"))
        if time.monotonic() >= deadline or (stop_when is not None and stop_when(frame)):
            return frame
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))
