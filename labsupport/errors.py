"""The one exception type the lab raises for problems a learner can fix, and failures in one line.

A :class:`LabError`'s message is a single line that says what went wrong and what to do; the
command line prints it without a stack trace. :func:`explain_failure` turns a streaming query's
failure (a page of JVM stack trace) into such a line.
"""

from __future__ import annotations

import re

__all__ = ["LabError", "explain_failure"]

_STREAM_FAILED = re.compile(r"^\[STREAM_FAILED\] Query \[[^\]]*\] terminated with exception: ")


class LabError(RuntimeError):
    """A problem with the learner's setup, with a one-line message naming the fix."""


def explain_failure(error: BaseException) -> str:
    """A streaming failure as one line: its first sentence, plus Spark's ``Reason:`` if any.

    >>> explain_failure(RuntimeError("Some data may have been lost;\\nmore\\nReason: gone."))
    'Some data may have been lost; Reason: gone.'
    """
    text = str(getattr(error, "desc", None) or error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    first = _STREAM_FAILED.sub("", lines[0])
    reason = next((line for line in lines[1:] if line.startswith("Reason:")), None)
    return f"{first} {reason}" if reason else first
