"""The notebooks follow the template, hold no outputs or pipeline code, and run — solved and not.

The fast tests (no kernel) read every ``notebooks/NN_*.ipynb`` (and the template) with nbformat.
The slow ones execute each numbered notebook in a fresh kernel against this suite's broker
(``KAFKA_BOOTSTRAP_SERVERS`` in the kernel's environment: the notebooks start no broker of their
own) with a temporary ``LAB_LESSONS_DIR``:

- with the reference solutions, ``LAB_FAST=1 LAB_STRICT=1``: every check must pass;
- unsolved, as a learner first opens it: it must run to the end, with a ✗ for each exercise
  (marker ``unsolved``: it doubles the notebooks' time, so ``make test`` leaves it to
  ``make test-unsolved``, which an author runs after changing a lesson).

Each run's wall time is printed in the summary (``tests/conftest.py``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from labsupport.broker import EmbeddedBroker
from labsupport.config import KafkaSettings
from labsupport.index import NOTEBOOKS_DIR, lesson_index
from tests.notebook_runner import (
    ExecutedNotebook,
    apply_solutions,
    execute_notebook,
    exercise_ids,
    load_solutions,
    notebook_paths,
    solution_path,
    write_executed_copy,
)

NOTEBOOKS = notebook_paths()
TEMPLATE = NOTEBOOKS_DIR / "_template.ipynb"
#: The template's sections, in order (a heading of any level; the title is the first cell).
REQUIRED_HEADINGS = (
    "overview",
    "learning goals",
    "prerequisites",
    "exercises",
    "summary",
    "what's next",
)
#: The pipeline's code belongs in labsupport (a lesson shows it with ``show_source``, it does not
#: copy it); versions belong in pyproject.toml. Exercise cells are exempt: there the learner
#: writes streaming code (``withWatermark``, ``foreachBatch``, a MERGE) and CI swaps in the
#: reference solution. (``from_json`` is not on the list: lesson 02 counts it in plans.)
FORBIDDEN_IN_CELLS = (
    "withWatermark(",
    ".merge(",
    "foreachBatch(",
    "spark.jars.packages",
    "pip install",
)
_TITLE = re.compile(r"^# (\d\d|NN) · (.+)$")


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _headings(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        line.lstrip("#").strip().lower().replace("’", "'")
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    ]


def _number(path: Path) -> str:
    return path.name[:2] if path != TEMPLATE else "NN"


ALL = [*NOTEBOOKS, TEMPLATE]
ALL_IDS = [path.stem for path in ALL]
NOTEBOOK_IDS = [path.stem for path in NOTEBOOKS]


# --- Static: the shape of every notebook ------------------------------------------------------
def test_there_are_numbered_notebooks():
    assert NOTEBOOKS, f"no NN_*.ipynb in {NOTEBOOKS_DIR}"


@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_outputs_are_stripped(path):
    notebook = _read(path)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs: run `make strip`"


@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_follows_the_template(path):
    notebook = _read(path)
    title = _TITLE.match(notebook.cells[0].source.splitlines()[0])
    assert notebook.cells[0].cell_type == "markdown" and title, (
        f"{path.name}: the first cell must be the title, '# NN · Title'"
    )
    assert title.group(1) == _number(path)

    headings = _headings(notebook)
    positions = []
    for required in REQUIRED_HEADINGS:
        assert required in headings, f"{path.name}: no '{required}' heading"
        positions.append(headings.index(required))
    assert positions == sorted(positions), (
        f"{path.name}: sections out of order: {REQUIRED_HEADINGS}"
    )

    goals_cell = next(c for c in notebook.cells if "learning goals" in c.source.lower())
    goals = re.findall(r"^\d+\. ", goals_cell.source, re.MULTILINE)
    sections = [h for h in headings if re.match(r"^\d+\. ", h)]
    assert goals, f"{path.name}: the learning goals are a numbered list"
    assert len(sections) == len(goals), (
        f"{path.name}: {len(goals)} learning goals but {len(sections)} numbered sections"
    )

    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert "from labsupport" in code[0] and f'start_lesson("{_number(path)}"' in code[0], (
        f"{path.name}: the first code cell imports labsupport and calls start_lesson"
    )
    assert "lesson.reset(" not in code[0], f"{path.name}: starting over is a cell of its own"
    if _number(path) != "00":  # lesson 00 checks the setup: there is nothing to catch up on
        assert any("lesson.catch_up(" in c.source for c in notebook.cells), (
            f"{path.name}: tell a learner who restarted the kernel about lesson.catch_up(N)"
        )
    assert code[-2].strip() == "lesson.summary()", f"{path.name}: the summary cell prints the score"
    assert code[-1].strip() == "lesson.whats_next()"


def _exercise_tag(cell: nbformat.NotebookNode) -> str | None:
    """``"03.1"`` for a cell tagged ``exercise:03.1``; None for any other cell."""
    tags = cell.get("metadata", {}).get("tags", [])
    return next((t.split(":", 1)[1] for t in tags if t.startswith("exercise:")), None)


@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_every_exercise_has_a_placeholder_and_is_followed_by_its_check(path):
    notebook = _read(path)
    ids = exercise_ids(notebook) if path != TEMPLATE else ["NN.1"]  # the template's tag is NN.1
    assert ids, f"{path.name}: a lesson ends with at least one exercise"
    seen = []
    for index, cell in enumerate(notebook.cells):
        exercise = _exercise_tag(cell)
        if exercise is None:
            continue
        assert exercise.startswith(f"{_number(path)}."), (
            f"{path.name}: {exercise} has another number"
        )
        assert re.search(r"= \.\.\.(\s|$)", cell.source), (
            f"{path.name}: exercise {exercise} needs a `... ` placeholder for the learner"
        )
        seen.append(exercise)
        following = notebook.cells[index + 1]
        checks_it = re.search(rf'lesson\.check\(\s*"{re.escape(exercise)}"', following.source)
        assert following.cell_type == "code" and checks_it, (
            f"{path.name}: exercise {exercise} must be followed by its check cell"
        )
    assert seen == ids


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_every_exercise_has_exactly_one_solution(path):
    solved = apply_solutions(_read(path), load_solutions(path))  # raises on a mismatch
    assert solution_path(path).exists()
    for cell in solved.cells:
        if _exercise_tag(cell):
            assert "= ..." not in cell.source


def test_every_solution_file_belongs_to_a_notebook():
    for solutions in sorted((NOTEBOOKS_DIR / "solutions").glob("*.py")):
        assert (NOTEBOOKS_DIR / f"{solutions.stem}.ipynb").exists(), (
            f"{solutions.name}: no notebook"
        )


@pytest.mark.parametrize("path", ALL, ids=ALL_IDS)
def test_cells_hold_no_pipeline_code_and_pin_no_version(path):
    for index, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code" or _exercise_tag(cell):
            continue
        for forbidden in FORBIDDEN_IN_CELLS:
            assert forbidden not in cell.source, (
                f"{path.name}, cell {index}: `{forbidden}` belongs in labsupport (or pyproject.toml)"
            )


def test_a_spark_error_log_line_in_a_cell_output_is_found():
    cell = nbformat.v4.new_code_cell("spark.read.load('gone')")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="19:01:02 WARN Foo: noise\n"),
        nbformat.v4.new_output(
            "stream", name="stderr", text="18:57:48 ERROR Executor: Exception in task 1.0\n\tat x\n"
        ),
        nbformat.v4.new_output("stream", name="stdout", text="12:00:00 ERROR printed on purpose\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x"), cell])
    found = ExecutedNotebook(Path("x.ipynb"), notebook, 0.0).logged_errors()
    assert found == ["cell 1: 18:57:48 ERROR Executor: Exception in task 1.0"]


def test_the_index_lists_every_notebook_in_order_with_its_title():
    index = lesson_index()
    numbers = [entry.number for entry in index]
    assert numbers == [f"{n:02d}" for n in range(len(index))], "index rows are 00, 01, ... in order"
    by_file = {entry.file: entry for entry in index}
    for path in NOTEBOOKS:
        assert path.name in by_file, f"{path.name} is missing from notebooks/README.md"
        title = _TITLE.match(_read(path).cells[0].source.splitlines()[0])
        assert title and title.group(2) == by_file[path.name].title, (
            f"{path.name}: its title differs from its row in notebooks/README.md"
        )


def test_a_lessons_minutes_are_the_same_in_the_index_and_in_the_notebook():
    by_file = {entry.file: entry for entry in lesson_index()}
    for path in NOTEBOOKS:
        stated = re.search(r"\| Time \| about (\d+) minutes", _read(path).cells[2].source)
        assert stated, f"{path.name}: its Prerequisites table has no 'Time | about N minutes' row"
        assert int(stated.group(1)) == by_file[path.name].minutes, (
            f"{path.name}: {stated.group(1)} minutes, but notebooks/README.md says "
            f"{by_file[path.name].minutes}"
        )


# --- Slow: every notebook runs --------------------------------------------------------------------
def _kernel_env(kafka: KafkaSettings, tmp_path: Path) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "LAB_LESSONS_DIR": str(tmp_path / "lessons"),
    }


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_runs_with_solutions_and_passes_every_check(path, kafka, tmp_path, record_property):
    lab_broker_was_running = EmbeddedBroker().status().running
    run = execute_notebook(path, env=_kernel_env(kafka, tmp_path))
    nbformat.write(run.notebook, tmp_path / path.name)  # to read when a check fails
    record_property("notebook_seconds", f"{path.name}: {run.seconds:.1f} s with solutions")

    score = run.score()
    assert score is not None, f"{path.name} printed no 'n/m checks passed' summary"
    passed, total = score
    exercises = exercise_ids(run.notebook)
    assert passed == total >= len(exercises), f"{path.name}: {passed}/{total} checks passed"
    for exercise in exercises:
        assert f"✓ {exercise} " in run.text(), f"{path.name}: exercise {exercise} was not checked"
    assert run.logged_errors() == [], f"{path.name}: Spark logged errors into a cell's output"
    assert EmbeddedBroker().status().running == lab_broker_was_running, (
        "the notebook started the lab's own broker instead of using KAFKA_BOOTSTRAP_SERVERS"
    )
    if os.environ.get("LAB_EXECUTED_DIR"):  # make html, make test: copies of a passing run only
        write_executed_copy(run, Path(os.environ["LAB_EXECUTED_DIR"]))


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.timeout(900)
def test_a_restarted_kernel_catches_up_to_the_start_of_a_section(kafka, tmp_path):
    """A fresh kernel runs lesson 05's imports cell and ``lesson.catch_up(2)``, nothing else:
    the variables and the tables of section 1 are back, Gold exactly as predicted."""
    lesson = next(path for path in NOTEBOOKS if path.name.startswith("05_"))
    imports = next(cell for cell in _read(lesson).cells if cell.cell_type == "code")
    after_a_restart = nbformat.v4.new_notebook(
        cells=[
            imports,
            nbformat.v4.new_code_cell("lesson.catch_up(2)"),
            nbformat.v4.new_code_cell(
                "phases = scenario_phases(duplicates)  # a variable of section 1\n"
                "table, same = gold_comparison(spark, paths.gold, predict_gold(phases))\n"
                "print('Gold as predicted:', same, len(table), 'rows')"
            ),
        ]
    )
    path = tmp_path / lesson.name
    nbformat.write(after_a_restart, path)
    run = execute_notebook(
        path, with_solutions=False, strict=False, env=_kernel_env(kafka, tmp_path)
    )
    text = run.text()
    assert "Lesson 05 is at the start of section 2" in text
    assert "Gold as predicted: True" in text, text[-2000:]
    assert run.logged_errors() == []


@pytest.mark.notebooks
@pytest.mark.unsolved
@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_runs_unsolved_to_the_end_with_a_cross_per_exercise(path, kafka, tmp_path, record_property):
    run = execute_notebook(
        path, with_solutions=False, strict=False, env=_kernel_env(kafka, tmp_path)
    )
    nbformat.write(run.notebook, tmp_path / path.name)
    record_property("notebook_seconds", f"{path.name}: {run.seconds:.1f} s unsolved")

    exercises = exercise_ids(run.notebook)
    text = run.text()
    for exercise in exercises:
        assert f"✗ {exercise} — not answered yet" in text, f"{path.name}: no ✗ for {exercise}"
    score = run.score()
    assert score is not None, f"{path.name} printed no 'n/m checks passed' summary"
    passed, total = score
    assert total - passed == len(exercises), f"{path.name}: {passed}/{total} checks passed"
