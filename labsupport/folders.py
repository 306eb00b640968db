"""Folders the lab may delete: only those it made, never the project, home or ``/``.

Resets delete whole folders whose place comes from the environment (``LAB_DELTA_ROOT``,
``LAB_CHECKPOINT_ROOT``, ``LAB_LESSONS_DIR``). A typo there must not empty someone's home, so
the lab writes a marker file into each folder it creates (:func:`claim`) and
:func:`remove_lab_folder` deletes a folder only when it holds that marker (or is one of the lab's
own default places inside the project) — and never ``/``, the home folder, the project or a
folder that contains the project.

>>> import tempfile, pathlib
>>> mine = claim(pathlib.Path(tempfile.mkdtemp()) / "tables")
>>> remove_lab_folder(mine, "LAB_DELTA_ROOT")
True
>>> remove_lab_folder(pathlib.Path("/"), "LAB_DELTA_ROOT")
Traceback (most recent call last):
...
labsupport.errors.LabError: Refusing to delete /: it is the file system's root. Set LAB_DELTA_ROOT to a folder of its own, e.g. ./delta.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from labsupport.config import (
    BROKER_HOME,
    DEFAULT_CHECKPOINT_ROOT,
    DEFAULT_DELTA_ROOT,
    DEFAULT_LESSONS_DIR,
    PROJECT_ROOT,
)
from labsupport.errors import LabError

__all__ = ["MARKER", "claim", "is_lab_folder", "refuse_unless_lab_folder", "remove_lab_folder"]

#: The file that says "the lab created this folder, a reset may delete it".
MARKER = ".streaming-lab"
_DEFAULTS = {
    "LAB_DELTA_ROOT": "./delta",
    "LAB_CHECKPOINT_ROOT": "./checkpoints",
    "LAB_LESSONS_DIR": "./.lab/lessons",
}


def _in_a_lab_place(folder: Path) -> bool:
    """Is ``folder`` one of the lab's default places inside the project, or inside one?"""
    places = (
        DEFAULT_DELTA_ROOT,
        DEFAULT_CHECKPOINT_ROOT,
        DEFAULT_LESSONS_DIR,
        BROKER_HOME / "data",
    )
    resolved = folder.resolve()
    return any(resolved.is_relative_to(place.resolve()) for place in places)


def claim(folder: Path | str) -> Path:
    """Create ``folder`` if needed and mark it as the lab's — unless it already holds other files.

    A folder that exists with files in it and no marker stays unmarked: the lab did not make
    it, so no reset will delete it. Returns the folder.
    """
    folder = Path(folder).expanduser()
    marker = folder / MARKER
    someone_elses = folder.exists() and not marker.exists() and any(folder.iterdir())
    if someone_elses and not _in_a_lab_place(folder):
        return folder  # never marked, so never deleted by a reset
    folder.mkdir(parents=True, exist_ok=True)
    if not marker.exists():
        marker.write_text("Created by Streaming Lab: `make clean` may delete this folder.\n")
    return folder


def is_lab_folder(folder: Path | str) -> bool:
    """True when the lab made ``folder`` (its marker is there) or it is in one of the lab's places."""
    folder = Path(folder)
    return (folder / MARKER).exists() or _in_a_lab_place(folder)


def _why_never(folder: Path) -> str | None:
    if folder == Path(folder.anchor):
        return "the file system's root"
    if folder == Path.home().resolve():
        return "your home folder"
    project = PROJECT_ROOT.resolve()
    if folder == project:
        return "the project itself"
    if project.is_relative_to(folder):
        return "a folder that contains the project"
    return None


def refuse_unless_lab_folder(folder: Path | str, variable: str) -> None:
    """Raise a one-line :class:`LabError` unless a reset may delete ``folder`` (or it is absent).

    ``variable`` names the setting that chose the folder, so the error says what to fix.
    """
    path = Path(folder).expanduser()
    if not path.exists():
        return
    resolved = path.resolve()
    never = _why_never(resolved)
    if never:
        example = _DEFAULTS.get(variable, "a new, empty folder")
        raise LabError(
            f"Refusing to delete {resolved}: it is {never}. "
            f"Set {variable} to a folder of its own, e.g. {example}."
        )
    if not is_lab_folder(path):
        raise LabError(
            f"Refusing to delete {resolved}: the lab did not create it (no {MARKER} file in it). "
            f"Delete it yourself, or set {variable} to a new folder."
        )


def remove_lab_folder(folder: Path | str, variable: str) -> bool:
    """Delete ``folder`` if the lab made it (else refuse, see above); False when it is absent."""
    refuse_unless_lab_folder(folder, variable)
    path = Path(folder).expanduser()
    if not path.exists():
        return False
    shutil.rmtree(path)
    return True
