"""What Spark will run: a DataFrame's physical plan as text, and the time it takes to run it.

Lesson 02 puts two parses side by side with these, and ``make bench`` times them: the plan
says how often an expression is evaluated per row, the clock says what that costs.
"""

from __future__ import annotations

import contextlib
import io
import time

from pyspark.sql import DataFrame

__all__ = ["count_in_plan", "physical_plan", "seconds_to_run"]


def physical_plan(frame: DataFrame) -> str:
    """The text ``frame.explain()`` prints: the physical plan, after the optimizer's rewrites."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        frame.explain()
    return printed.getvalue()


def count_in_plan(frame: DataFrame, expression: str) -> int:
    """How many times ``expression`` (say ``"from_json("``) appears in ``frame``'s physical plan.

    Each appearance is a place where Spark evaluates it, row by row: 1 means once per row.
    """
    return physical_plan(frame).count(expression)


def seconds_to_run(frame: DataFrame, rounds: int = 3) -> float:
    """The fastest of ``rounds`` runs of ``frame`` into Spark's ``noop`` sink, in seconds.

    ``noop`` computes every row and writes nothing, so the time is the plan's own cost; the
    fastest run leaves out the first run's warm-up (code generation, the JIT).
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        frame.write.format("noop").mode("overwrite").save()
        best = min(best, time.perf_counter() - started)
    return best
