"""Resets delete only what the lab made: a wrong LAB_* path is a one-line refusal, not a lost folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labsupport.config import PROJECT_ROOT
from labsupport.errors import LabError
from labsupport.folders import MARKER, claim, is_lab_folder, remove_lab_folder
from tests.commands import LABSUPPORT, refusal, run


def someone_elses(folder: Path) -> Path:
    """A folder with a file in it that the lab did not create."""
    folder.mkdir(parents=True)
    (folder / "thesis.tex").write_text("years of work")
    return folder


def reset(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run(LABSUPPORT, "reset", *args, **env)


def test_the_lab_deletes_what_it_created(tmp_path):
    tables = claim(tmp_path / "tables")
    (tables / "part-0.parquet").write_text("x")
    assert is_lab_folder(tables)
    assert remove_lab_folder(tables, "LAB_DELTA_ROOT") and not tables.exists()
    assert remove_lab_folder(tables, "LAB_DELTA_ROOT") is False  # gone already: nothing to do


def test_a_folder_the_lab_did_not_create_is_never_marked_nor_deleted(tmp_path):
    theirs = someone_elses(tmp_path / "documents")
    claim(theirs)  # e.g. LAB_DELTA_ROOT pointed here by mistake, then a pipeline ran
    assert not (theirs / MARKER).exists()
    with pytest.raises(LabError, match=r"did not create it .* set LAB_DELTA_ROOT to a new folder"):
        remove_lab_folder(theirs, "LAB_DELTA_ROOT")
    assert (theirs / "thesis.tex").read_text() == "years of work"


@pytest.mark.parametrize(
    ("target", "why"),
    [
        (Path("/"), "the file system's root"),
        (Path.home(), "your home folder"),
        (PROJECT_ROOT, "the project itself"),
        (PROJECT_ROOT.parent, "a folder that contains the project"),
    ],
)
def test_root_home_project_and_its_parents_are_refused_even_when_marked(target, why):
    with pytest.raises(LabError) as refused:
        remove_lab_folder(target, "LAB_CHECKPOINT_ROOT")
    message = str(refused.value)
    assert why in message and "Set LAB_CHECKPOINT_ROOT to a folder of its own" in message
    assert "\n" not in message


def test_reset_refuses_a_delta_root_that_is_the_projects_parent():
    result = reset("--yes", LAB_DELTA_ROOT="..")
    assert "a folder that contains the project" in refusal(result)
    assert "LAB_DELTA_ROOT" in result.stderr
    assert (PROJECT_ROOT / "labsupport").is_dir()


def test_reset_broker_refuses_a_lessons_dir_it_did_not_create_and_stops_nothing(tmp_path):
    theirs = someone_elses(tmp_path / "photos")
    lab = tmp_path / "lab"
    result = reset(
        "--yes",
        "--broker",
        LAB_LESSONS_DIR=str(theirs),
        LAB_DELTA_ROOT=str(lab / "delta"),
        LAB_CHECKPOINT_ROOT=str(lab / "checkpoints"),
    )
    line = refusal(result)
    assert line.startswith(f"error: Refusing to delete {theirs.resolve()}")
    assert "LAB_LESSONS_DIR" in line
    assert (theirs / "thesis.tex").exists()
    assert "broker stopped" not in result.stdout


def test_reset_deletes_the_folders_the_lab_made(tmp_path):
    delta, checkpoints = claim(tmp_path / "d"), claim(tmp_path / "c")
    result = reset("--yes", LAB_DELTA_ROOT=str(delta), LAB_CHECKPOINT_ROOT=str(checkpoints))
    assert result.returncode == 0, result.stderr
    assert not delta.exists() and not checkpoints.exists()
    assert f"Deleted {delta}" in result.stdout


def test_reset_without_a_terminal_and_without_yes_is_one_line(tmp_path):
    delta = claim(tmp_path / "d")
    result = reset(LAB_DELTA_ROOT=str(delta), LAB_CHECKPOINT_ROOT=str(tmp_path / "c"))
    assert refusal(result) == (
        "error: reset asks before it deletes, and there is no terminal: add --yes."
    )
    assert delta.exists()


def test_a_lesson_reset_refuses_a_workspace_it_did_not_create(tmp_path, monkeypatch, capsys):
    from labsupport.lesson import Lesson

    monkeypatch.setenv("LAB_LESSONS_DIR", str(tmp_path))
    theirs = someone_elses(tmp_path / "04")
    lesson = Lesson("04", "Event time")
    monkeypatch.setattr(Lesson, "_delete_topic", lambda self, timeout: "topic untouched")
    with pytest.raises(LabError, match="LAB_LESSONS_DIR"):
        lesson.reset()
    assert (theirs / "thesis.tex").exists()
