"""The one exception type the lab raises for problems a learner can fix.

Its message is a single line that says what went wrong and what to do; the command line
prints it without a stack trace.
"""

from __future__ import annotations

__all__ = ["LabError"]


class LabError(RuntimeError):
    """A problem with the learner's setup, with a one-line message naming the fix."""
