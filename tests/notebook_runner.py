"""Run the lesson notebooks the way CI does: reference solutions swapped in, every check strict.

An exercise is a code cell tagged ``exercise:NN.k`` that holds a placeholder for the learner
(``answer = ...  # your code here``), followed by a check cell (``lesson.check("NN.k", ...)``).
Its reference solution lives apart from the notebook, in ``notebooks/solutions/<notebook>.py``,
as a block that starts with the marker line ``# %% exercise:NN.k`` and runs to the next marker::

    # %% exercise:00.1
    metadata = AdminClient(lesson.kafka.client_config()).list_topics(timeout=10)
    partitions = len(metadata.topics[lesson.topic].partitions)

:func:`execute_notebook` loads a notebook, replaces each tagged cell's source with its solution
block — refusing a tag without a solution and a solution without a tag, so neither can rot —
and runs it in a fresh ``python3`` kernel (this interpreter's) with ``notebooks/`` as working
directory and ``LAB_FAST=1 LAB_STRICT=1``: a failed check raises, and so fails the run. Spark
is stopped after the last cell, and the kernel is shut down when the run ends, whatever
happened. It needs the ``notebooks`` extra (nbformat, nbclient, ipykernel).

>>> parse_solutions("# %% exercise:00.1\\nanswer = 3\\n")
{'00.1': 'answer = 3'}
"""

from __future__ import annotations

import copy
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsupport.errors import LabError
from labsupport.index import NOTEBOOKS_DIR

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = [
    "EXERCISE_TAG",
    "ExecutedNotebook",
    "apply_solutions",
    "execute_notebook",
    "exercise_ids",
    "load_solutions",
    "notebook_paths",
    "parse_solutions",
    "solution_path",
    "write_copies_index",
    "write_executed_copy",
]

#: The cell tag of an exercise: ``exercise:`` + the lesson number + ``.`` + the exercise number.
EXERCISE_TAG = re.compile(r"^exercise:(\d\d\.\d+)$")
_MARKER = re.compile(r"^# %% exercise:(\S+)[ \t]*$", re.MULTILINE)
_SUMMARY = re.compile(r"(\d+)/(\d+) checks passed")
#: A Spark log line at ERROR level, in the lab's log layout (``HH:mm:ss LEVEL logger: message``).
_LOGGED_ERROR = re.compile(r"^\d\d:\d\d:\d\d ERROR ")
_TEARDOWN = "lab-teardown"


def notebook_paths(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The numbered lessons (``NN_name.ipynb``) in order; the template is not one of them."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def solution_path(notebook: Path) -> Path:
    """Where a notebook's reference solutions live: ``solutions/<notebook stem>.py`` beside it."""
    return notebook.parent / "solutions" / f"{notebook.stem}.py"


def exercise_ids(notebook: NotebookNode) -> list[str]:
    """The ids (``"00.1"``) of the notebook's exercise cells, in order; duplicates are an error."""
    ids: list[str] = []
    for cell in notebook.cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            match = EXERCISE_TAG.match(tag)
            if match:
                if cell.cell_type != "code":
                    raise LabError(f"Tag {tag} is on a {cell.cell_type} cell: tag the code cell.")
                if match.group(1) in ids:
                    raise LabError(f"Two cells are tagged {tag}: each exercise has one cell.")
                ids.append(match.group(1))
    return ids


def parse_solutions(text: str) -> dict[str, str]:
    """``{exercise id: code}`` from a solutions file's ``# %% exercise:NN.k`` blocks.

    Everything before the first marker (a docstring, a lint directive) belongs to no block.
    """
    markers = list(_MARKER.finditer(text))
    solutions: dict[str, str] = {}
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        exercise = marker.group(1)
        if exercise in solutions:
            raise LabError(f"Two solution blocks are marked exercise:{exercise}.")
        code = text[marker.end() : end].strip("\n")
        if not code.strip():
            raise LabError(f"The solution block exercise:{exercise} is empty.")
        solutions[exercise] = code
    return solutions


def load_solutions(notebook: Path) -> dict[str, str]:
    """The reference solutions of ``notebook`` (none when it has no solutions file)."""
    path = solution_path(notebook)
    return parse_solutions(path.read_text(encoding="utf-8")) if path.exists() else {}


def apply_solutions(notebook: NotebookNode, solutions: Mapping[str, str]) -> NotebookNode:
    """A copy of ``notebook`` with every exercise cell's source replaced by its solution.

    Raises :class:`LabError` when an exercise has no solution or a solution has no exercise.
    """
    ids = exercise_ids(notebook)
    missing = [i for i in ids if i not in solutions]
    orphans = [i for i in solutions if i not in ids]
    if missing or orphans:
        problems = []
        if missing:
            problems.append(f"exercises without a solution block: {', '.join(missing)}")
        if orphans:
            problems.append(f"solution blocks without an exercise cell: {', '.join(orphans)}")
        raise LabError("; ".join(problems))
    solved = copy.deepcopy(notebook)
    for cell in solved.cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            match = EXERCISE_TAG.match(tag)
            if match:
                cell.source = solutions[match.group(1)]
    return solved


@dataclass
class ExecutedNotebook:
    """A notebook after its run: the executed cells (with outputs) and the wall time."""

    path: Path
    notebook: NotebookNode
    seconds: float

    def text(self) -> str:
        """Everything the cells printed (stream outputs and plain-text results), in order."""
        parts: list[str] = []
        for cell in self.notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    parts.append(output.get("text", ""))
                elif "data" in output and "text/plain" in output["data"]:
                    parts.append(output["data"]["text/plain"])
        return "\n".join(parts)

    def logged_errors(self) -> list[str]:
        """Spark's ERROR log lines that reached a cell's output (a learner would see a trace)."""
        return [
            f"cell {index}: {line}"
            for index, cell in enumerate(self.notebook.cells)
            for output in cell.get("outputs", [])
            if output.get("name") == "stderr"
            for line in output.get("text", "").splitlines()
            if _LOGGED_ERROR.match(line)
        ]

    def score(self) -> tuple[int, int] | None:
        """``(passed, total)`` from the last "n/m checks passed" line, or None if none printed."""
        found = _SUMMARY.findall(self.text())
        if not found:
            return None
        passed, total = found[-1]
        return int(passed), int(total)


def execute_notebook(
    path: Path | str,
    *,
    with_solutions: bool = True,
    timeout: int = 300,
    env: Mapping[str, str] | None = None,
    fast: bool = True,
    strict: bool = True,
    kernel_name: str = "python3",
) -> ExecutedNotebook:
    """Execute a notebook in a new kernel and return it with its outputs and wall time.

    ``with_solutions`` swaps in the reference solutions (see :func:`apply_solutions`);
    ``timeout`` bounds each cell, in seconds. The kernel's environment is this process's, plus
    ``LAB_FAST=1`` and ``LAB_STRICT=1`` (unless ``fast``/``strict`` is False), plus ``env``
    (a test passes ``KAFKA_BOOTSTRAP_SERVERS`` and ``LAB_LESSONS_DIR`` there). A cell that
    raises stops the run with nbclient's ``CellExecutionError``, which carries the traceback.
    """
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    if with_solutions:
        notebook = apply_solutions(notebook, load_solutions(path))
    # A last cell, removed again from the result, stops Spark while the kernel still runs, so its
    # JVM is gone before the next notebook's starts (not left to exit after the kernel).
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from labsupport.spark import stop_spark\n\nstop_spark()",
            metadata={"tags": [_TEARDOWN]},
        )
    )
    kernel_env = dict(os.environ)
    kernel_env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), kernel_env["PATH"]])
    kernel_env["LAB_FAST"] = "1" if fast else "0"
    kernel_env["LAB_STRICT"] = "1" if strict else "0"
    # silences the debugger's "frozen modules" warning at kernel start
    kernel_env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    kernel_env.update(env or {})
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent)}},
        shutdown_kernel="graceful",
    )
    started = time.monotonic()
    executed: Any = client.execute(env=kernel_env)  # the kernel is shut down on return or error
    seconds = time.monotonic() - started
    executed.cells = [c for c in executed.cells if _TEARDOWN not in c.metadata.get("tags", [])]
    return ExecutedNotebook(path, executed, seconds)


def write_executed_copy(run: ExecutedNotebook, folder: Path) -> Path:
    """Save ``run`` to ``folder`` as an executed ``.ipynb`` and as HTML; return the HTML page.

    What ``make html`` (and every ``make test``) leaves for an instructor to project or hand to
    a learner whose laptop failed: each lesson with its solutions and its real outputs.
    """
    import nbformat
    from nbconvert import HTMLExporter

    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(run.notebook, folder / run.path.name)
    body, _ = HTMLExporter().from_notebook_node(run.notebook)
    page = folder / f"{run.path.stem}.html"
    page.write_text(body, encoding="utf-8")
    return page


def write_copies_index(folder: Path) -> Path:
    """``index.html`` linking every executed lesson in ``folder`` (once, after the run)."""
    import html

    rows = "".join(
        f'<li><a href="{html.escape(p.name)}">{html.escape(p.stem)}</a></li>'
        for p in sorted(folder.glob("[0-9][0-9]_*.html"))
    )
    index = folder / "index.html"
    index.write_text(
        "<!doctype html><meta charset=utf-8><title>Streaming Lab: executed lessons</title>"
        "<h1>Streaming Lab: the lessons, executed with their solutions</h1>"
        f"<ul>{rows}</ul>",
        encoding="utf-8",
    )
    return index
