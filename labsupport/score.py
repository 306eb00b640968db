"""A lesson's running score: each exercise check printed as ✓ or ✗, and a summary line.

A learner sees a ✗ and carries on; CI (``LAB_STRICT=1``) turns a failed check into an
``AssertionError`` so a broken lesson fails the build.

Help comes in stages, so a learner gets to think first: the first ✗ of an exercise says what
differs (the nudge), the second adds the check's hint (the method), the third and later ones
also name the reference solution's block.

>>> from labsupport.checks.core import check_equal
>>> score = Scoreboard()
>>> _ = score.run("00.1", check_equal, 3, 3, "the number of partitions")
✓ 00.1 — the number of partitions is 3
>>> score.summary_line("Lesson 00")
'Lesson 00: 1/1 checks passed'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labsupport.checks.core import NOT_ANSWERED, CheckResult, is_unanswered

__all__ = ["Scoreboard"]


@dataclass
class Scoreboard:
    """Each check's latest result, by name; re-running a check cell replaces its result.

    In ``strict`` mode (CI) a failed check raises ``AssertionError`` after printing it.
    """

    strict: bool = False
    #: Where the lesson's reference solutions are (the third ✗ of an exercise points there).
    solutions: str = "notebooks/solutions/"
    results: dict[str, CheckResult] = field(default_factory=dict)
    #: How many times each exercise's check has failed so far: the stage of its help.
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.results.values())

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> list[str]:
        return [name for name, result in self.results.items() if not result.passed]

    def run(
        self, name: str, check: Callable[..., CheckResult], *args: Any, **kwargs: Any
    ) -> CheckResult:
        """Run ``check(*args, **kwargs)`` and :meth:`record` its result under ``name``.

        An answer still at ``...`` is reported as not answered without calling the check; a
        check that raises (an answer of the wrong type, say) is a failure that shows the error,
        not a crash of the notebook.
        """
        if any(is_unanswered(value) for value in (*args, *kwargs.values())):
            result = CheckResult.not_answered(
                "write your answer in the exercise cell above, run it, then run this cell again"
            )
        else:
            try:
                result = check(*args, **kwargs)
            except Exception as error:
                result = CheckResult.fail(
                    f"the check could not run on your answer: {type(error).__name__}: {error}",
                    "compare the type and shape of your answer with what the exercise asks for",
                )
                self._show(name, result)
                if self.strict:
                    raise AssertionError(f"check {name} could not run: {error!r}") from error
                return result
        return self.record(name, result)

    def record(self, name: str, result: CheckResult) -> CheckResult:
        """Store and print one result: ``✓ name — message`` or ``✗ name — message`` + hint."""
        self._show(name, result)
        if not result.passed and self.strict:
            raise AssertionError(f"check {name} failed: {result.message}")
        return result

    def _show(self, name: str, result: CheckResult) -> None:
        self.results[name] = result
        print(f"{'✓' if result.passed else '✗'} {name} — {result.message}")
        if result.passed:
            return
        if result.message == NOT_ANSWERED or not result.hint:  # not a try, or a setup problem
            return
        stage = self.failures[name] = self.failures.get(name, 0) + 1
        if stage == 1 and result.hint:
            print("  (try again: a hint comes with the next ✗)")
        elif stage >= 2 and result.hint:
            print(f"  hint: {result.hint}")
        if stage >= 3:
            print(f"  solution: the block `# %% exercise:{name}` of {self.solutions}")

    def summary_line(self, label: str) -> str:
        line = f"{label}: {self.passed}/{self.total} checks passed"
        if self.failed:
            line += f" (still to do: {', '.join(self.failed)})"
        return line
