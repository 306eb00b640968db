"""The instructor guide (``docs/instructor.md``) stays true to the lab it describes.

Fast tier: no Kafka, no Spark. The guide's agendas are checked against the one place the lessons'
minutes live (the index in ``notebooks/README.md``, read by :mod:`labsupport.index`) and its
half-day path; every ``make`` target and ``lesson.<method>(`` it names must exist; every section a
pause point names must be a heading of that lesson's notebook; its relative links must resolve.
"""

from __future__ import annotations

import re
from functools import cache

import nbformat
import pytest

from labsupport.config import PROJECT_ROOT
from labsupport.index import NOTEBOOKS_DIR, lesson_index
from labsupport.lesson import Lesson
from labsupport.machine import GB, LESSON_PEAK_MEMORY, MEMORY_HEADROOM

GUIDE = PROJECT_ROOT / "docs" / "instructor.md"
MAKEFILE = PROJECT_ROOT / "Makefile"
WRAP_UP = "—"  # the half-day table's lesson cell for the wrap-up row
_TIMES = re.compile(r"(\d\d):(\d\d)–(\d\d):(\d\d)")
_LESSON = re.compile(r"(\d\d) · (.+?)(?: — .*)?")


def _section(text: str, heading: str) -> list[str]:
    """The lines under ``heading`` (a whole heading line), up to the next heading of its level."""
    lines = text.splitlines()
    assert heading in lines, f"no heading {heading!r}"
    level = heading.split(" ", 1)[0]
    body = []
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("#") and line.split(" ", 1)[0] == level:
            break
        body.append(line)
    return body


def _rows(lines: list[str]) -> list[list[str]]:
    """The body rows of the markdown tables in ``lines``, as stripped cells (no header, no rule)."""
    rows = []
    for line in lines:
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(cell and set(cell) <= set("-: ") for cell in cells):
            rows.pop()  # the |---| rule: the row above it was the header
            continue
        rows.append(cells)
    return rows


@cache
def _guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def _agenda(heading: str) -> list[list[str]]:
    rows = _rows(_section(_guide(), heading))
    assert rows, f"{heading}: no table"
    return rows


def _minutes(time_cell: str) -> tuple[int, int]:
    """``09:10–09:30`` -> (550, 570): the start and end in minutes after midnight."""
    found = _TIMES.fullmatch(time_cell)
    assert found, f"not a clock time span like 09:10–09:30: {time_cell!r}"
    h1, m1, h2, m2 = map(int, found.groups())
    return h1 * 60 + m1, h2 * 60 + m2


@pytest.mark.parametrize("heading", ["## One-day agenda", "## Half-day agenda"])
def test_agenda_clock_times_follow_on_and_match_each_rows_minutes(heading):
    previous_end = None
    for time_cell, what, minutes, *_ in _agenda(heading):
        start, end = _minutes(time_cell)
        assert end - start == int(minutes), f"{heading}, {what}: {time_cell} is not {minutes} min"
        if previous_end is not None:
            assert start == previous_end, f"{heading}: a gap or an overlap before {what!r}"
        previous_end = end


def test_the_one_day_agenda_is_every_lesson_of_the_index_in_order_with_its_minutes():
    index = lesson_index()
    assert len(index) == 8
    lessons = []
    for _, what, minutes, *_ in _agenda("## One-day agenda"):
        found = _LESSON.fullmatch(what)
        if found:
            lessons.append((found.group(1), found.group(2), int(minutes)))
    assert lessons == [(entry.number, entry.title, entry.minutes) for entry in index]


def _readme_half_day() -> list[tuple[str, int]]:
    """``(lesson, minutes)`` of the half-day table in ``notebooks/README.md`` (``—``: wrap-up)."""
    readme = (NOTEBOOKS_DIR / "README.md").read_text(encoding="utf-8")
    rows = _rows(_section(readme, "## Two paths through the lab"))
    return [(lesson, int(minutes)) for lesson, _, minutes in rows]


def test_the_half_day_agenda_is_notebooks_readme_half_day_path():
    readme = _readme_half_day()
    assert [lesson for lesson, _ in readme][:2] == ["00", "03"], "the README's table was read"
    titles = {entry.number: entry.title for entry in lesson_index()}
    guide = []
    for _, what, minutes, *_ in _agenda("## Half-day agenda"):
        found = _LESSON.fullmatch(what)
        if found:
            assert found.group(2) == titles[found.group(1)], what
            guide.append((found.group(1), int(minutes)))
        elif what.startswith(WRAP_UP):
            guide.append((WRAP_UP, int(minutes)))
    assert guide == readme
    assert sum(minutes for _, minutes in guide) == 180, "the README's half day is 3 hours"


def _code(text: str) -> str:
    """Every fenced block and inline code span of ``text`` (quoted ones too), one per line."""
    text = re.sub(r"^> ?", "", text, flags=re.MULTILINE)
    fenced = re.findall(r"^\s*```\w*\n(.*?)^\s*```", text, re.MULTILINE | re.DOTALL)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.DOTALL))
    return "\n".join(fenced + inline)


#: ``make <target> [VAR=value ...]`` as a command: at the start of a line, after ``&&`` or ``;``,
#: or after an environment assignment — not the word in a package list (``apt install ... make``).
_MAKE = re.compile(
    r"(?:^\s*|&&\s*|;\s*|[A-Z_]+=\S+[ \t]+)make[ \t]+([a-z][\w-]*)((?:[ \t]+[A-Z_]+=\S+)*)",
    re.MULTILINE,
)


def _makefile_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", MAKEFILE.read_text(), re.MULTILINE))


def test_every_make_target_the_guide_names_is_in_the_makefile():
    named = {target for target, _ in _MAKE.findall(_code(_guide()))}
    assert {"setup", "setup-dev", "preflight", "bundle", "html", "lab", "clean", "where"} <= named
    assert named - _makefile_targets() == set()


def test_every_variable_given_to_make_is_one_the_makefile_reads():
    makefile = MAKEFILE.read_text()
    given = [variables for _, variables in _MAKE.findall(_code(_guide()))]
    names = {name for group in given for name in re.findall(r"([A-Z_]+)=", group)}
    assert {"BUNDLE", "BUNDLE_PYTHONS", "BUNDLE_PLATFORMS", "ID", "Q", "PYTHON"} <= names
    assert {name for name in names if f"$({name})" not in makefile} == set()


def test_every_lesson_method_the_guide_names_exists():
    named = set(re.findall(r"\blesson\.([A-Za-z_]\w*)\(", _guide()))
    assert {"reset", "catch_up", "ensure_broker"} <= named
    assert {name for name in named if not callable(getattr(Lesson, name, None))} == set()


@cache
def _headings(file: str) -> set[str]:
    """Every markdown heading of a notebook, without its leading ``#``s."""
    notebook = nbformat.read(NOTEBOOKS_DIR / file, as_version=4)
    return {
        line.lstrip("#").strip()
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    }


def _pause_points() -> dict[str, list[str]]:
    """``{lesson number: [section named by each pause point]}`` from the guide."""
    tables: dict[str, list[str]] = {}
    for line in _section(_guide(), "## Pause points"):
        heading = re.fullmatch(r"### (\d\d) · .+", line)
        if heading:
            tables[heading.group(1)] = []
        elif tables:
            tables[list(tables)[-1]].append(line)
    return {lesson: [row[0] for row in _rows(lines)] for lesson, lines in tables.items()}


def test_every_lesson_has_one_to_three_pause_points_on_sections_of_its_notebook():
    points = _pause_points()
    files = {entry.number: entry.file for entry in lesson_index()}
    assert list(points) == list(files), "one pause-point table per lesson, in order"
    for number, sections in points.items():
        assert 1 <= len(sections) <= 3, f"lesson {number}: {len(sections)} pause points"
        for section in sections:
            assert re.match(r"\d+\. ", section), f"lesson {number}: not a numbered section"
            assert section in _headings(files[number]), f"{files[number]} has no {section!r}"


def test_the_memory_requirement_is_the_figure_the_preflight_checks():
    found = re.findall(r"at least \*\*([\d.]+) GB\*\* of RAM free", _guide(), re.IGNORECASE)
    assert len(found) == 1, "one sentence states the memory a laptop needs"
    needed = round((LESSON_PEAK_MEMORY + MEMORY_HEADROOM) / GB, 1)  # below it, the preflight warns
    assert float(found[0]) == needed, f"the guide says {found[0]} GB; the preflight wants {needed}"
    assert not re.search(r"\b(TODO|TBD|FIXME|XXX)\b", _guide())


def test_every_relative_link_resolves():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _guide())
    relative = [link for link in links if "://" not in link]
    assert relative, "the guide links the lesson index"
    missing = [link for link in relative if not (GUIDE.parent / link).resolve().exists()]
    assert missing == []


def test_the_executed_copies_and_the_bundle_are_where_the_guide_says():
    makefile = MAKEFILE.read_text()
    assert re.search(r"^LESSON_COPIES := \$\(CURDIR\)/build/lessons$", makefile, re.MULTILINE)
    assert "--out dist/workshop-bundle.tar.gz" in makefile
    assert 'folder / "index.html"' in (PROJECT_ROOT / "tests" / "notebook_runner.py").read_text()
    assert "build/" in (PROJECT_ROOT / ".gitignore").read_text().splitlines(), "git-ignored"
    for path in ("build/lessons/index.html", "dist/workshop-bundle.tar.gz"):
        assert path in _guide()
