"""The order of the lessons, kept in one place: the index table of ``notebooks/README.md``.

:func:`lesson_index` reads it, so :func:`labsupport.lesson.start_lesson` can take a lesson's
title from it and :meth:`labsupport.lesson.Lesson.whats_next` can name the next notebook.

>>> [entry.number for entry in lesson_index()][:3]
['00', '01', '02']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from labsupport.config import PROJECT_ROOT

__all__ = ["NOTEBOOKS_DIR", "IndexEntry", "lesson_index"]

#: Where the numbered notebooks and their index (``README.md``) live.
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
_INDEX_FILE = re.compile(r"(\d\d)_[A-Za-z0-9_]+\.ipynb")


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index table in ``notebooks/README.md``."""

    number: str
    file: str
    title: str
    teaches: str
    minutes: int


def lesson_index(readme: Path | None = None) -> list[IndexEntry]:
    """The lessons in order, read from the table in ``notebooks/README.md``.

    A row is ``| file | title | what it teaches | minutes |``; the file cell may be a link.
    """
    path = readme or NOTEBOOKS_DIR / "README.md"
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4:
            continue
        match = _INDEX_FILE.search(cells[0])
        if not match or not cells[3].isdigit():
            continue
        entries.append(
            IndexEntry(match.group(1), match.group(0), cells[1], cells[2], int(cells[3]))
        )
    return entries
