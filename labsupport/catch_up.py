"""Back to the start of a section after a kernel restart, with one call: ``lesson.catch_up(3)``.

A learner who restarts the kernel in the middle of a lesson loses every variable, while the
lesson's topic, tables and checkpoints stay as the later cells left them. Re-running the cells
of the earlier sections on that state would not give back what they gave the first time (a
producer cell sends its events again, a stream finds its checkpoint further on). So catching
up starts the lesson over (:meth:`labsupport.lesson.Lesson.reset`) and runs, quietly, the code
cells that come before the section's heading: exactly what the learner would have run from the
top. Exercise cells and check cells are left out, so a half-written answer cannot break it.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from labsupport.errors import LabError

__all__ = ["cells_before_section", "run_cells"]

_START_OVER = "lesson.reset("


def _heading(section: int | str) -> str:
    """``## 3.`` for section 3; ``## Exercises`` for ``"exercises"``."""
    return f"## {section}." if isinstance(section, int) else f"## {section.capitalize()}"


def cells_before_section(notebook: Path, section: int | str) -> list[tuple[int, str]]:
    """``(index, source)`` of the code cells to run to reach the start of ``section``.

    ``section`` is a section's number, or ``"exercises"`` for the exercises at the end.

    The first code cell (the imports, which the learner runs to get ``lesson`` back), the
    start-over cell, exercise cells and check cells are left out. Raises :class:`LabError` when
    the notebook has no ``## N.`` heading for ``section``.
    """
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    heading = _heading(section)
    ends = [
        index
        for index, cell in enumerate(cells)
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith(heading)
    ]
    if not ends:
        sections = sorted(
            {cell.source.split(".", 1)[0][3:] for cell in cells if cell.cell_type == "markdown"
             and cell.source.startswith("## ") and cell.source[3:4].isdigit()}
        )  # fmt: skip
        raise LabError(
            f"{notebook.name} has no section {section}: catch up to one of "
            f'{", ".join(sections)}, or "exercises".'
        )
    code = [
        (index, cell) for index, cell in enumerate(cells[: ends[0]]) if cell.cell_type == "code"
    ]
    return [
        (index, cell.source)
        for index, cell in code[1:]
        if _START_OVER not in cell.source
        and "lesson.check(" not in cell.source
        and not any(tag.startswith("exercise:") for tag in cell.metadata.get("tags", []))
    ]


def run_cells(
    cells: list[tuple[int, str]], namespace: MutableMapping[str, Any], notebook_name: str
) -> None:
    """Run each cell's source in ``namespace`` (the notebook's variables), its output hidden.

    Figures are not shown (``plt.show`` and IPython's ``display`` do nothing meanwhile). A cell
    that fails raises a one-line :class:`LabError` naming it.
    """
    from unittest import mock

    quiet = {"display": lambda *args, **kwargs: None}
    saved = {name: namespace[name] for name in quiet if name in namespace}
    namespace.update(quiet)
    try:
        with mock.patch("matplotlib.pyplot.show"), mock.patch("IPython.display.display"):
            for index, source in cells:
                captured = io.StringIO()
                try:
                    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                        exec(compile(source, f"<{notebook_name} cell {index}>", "exec"), namespace)
                except Exception as error:
                    raise LabError(
                        f"Catching up stopped at cell {index} of {notebook_name}: "
                        f"{type(error).__name__}: {error}. Run that cell yourself to see why."
                    ) from None
    finally:
        for name in quiet:
            namespace.pop(name, None)
        namespace.update(saved)
