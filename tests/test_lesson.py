"""A lesson's workspace, score and reset: what every notebook's first cell relies on."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from labsupport.checks.core import CheckResult, check_equal
from labsupport.errors import LabError
from labsupport.folders import MARKER
from labsupport.index import lesson_index
from labsupport.lesson import Lesson, lessons_dir, start_lesson
from labsupport.net import free_port
from labsupport.score import Scoreboard


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """Lessons under a temporary folder, learner mode, normal speed."""
    monkeypatch.setenv("LAB_LESSONS_DIR", str(tmp_path / "lessons"))
    monkeypatch.delenv("LAB_STRICT", raising=False)
    monkeypatch.delenv("LAB_FAST", raising=False)
    return tmp_path / "lessons"


def test_each_lesson_has_its_own_topic_tables_and_checkpoints(workspace):
    three, four = Lesson("03", "Three"), Lesson("04", "Four")
    assert three.topic == "lesson-03-order-events" != four.topic
    assert three.root == workspace / "03" and lessons_dir() == workspace
    assert three.table("bronze") == str(workspace / "03" / "delta" / "bronze")
    assert three.checkpoint("bronze") == str(workspace / "03" / "checkpoints" / "bronze")
    assert three.group_id() != four.group_id()


def test_a_lesson_number_is_two_digits(workspace):
    with pytest.raises(LabError, match="two digits"):
        Lesson("3", "Three")


def test_fast_mode_picks_the_smaller_value(workspace, monkeypatch):
    lesson = Lesson("03", "Three")
    assert not lesson.fast and lesson.pick(500, fast=50) == 500
    monkeypatch.setenv("LAB_FAST", "1")
    assert lesson.fast and lesson.pick(500, fast=50) == 50


def test_start_lesson_takes_its_title_from_the_index(workspace, capsys):
    lesson = start_lesson("00")
    assert lesson.title == next(e.title for e in lesson_index() if e.number == "00")
    assert lesson.root.is_dir()
    assert f"Lesson 00 — {lesson.title}" in capsys.readouterr().out
    with pytest.raises(LabError, match="not in the index"):
        start_lesson("98")


def test_whats_next_names_the_following_row_of_the_index(workspace, capsys):
    index = lesson_index()
    assert Lesson("00", "x").next_lesson() == index[1]
    Lesson("00", "x").whats_next()
    assert f"Next: {index[1].file}" in capsys.readouterr().out
    assert Lesson(index[-1].number, "last").next_lesson() is None
    Lesson(index[-1].number, "last").whats_next()
    assert "last lesson" in capsys.readouterr().out


def test_help_comes_in_stages_nudge_then_hint_then_the_solution(workspace, capsys):
    lesson = Lesson("03", "Three")
    stages = []
    for _ in range(3):
        lesson.check("03.2", check_equal, 1, 3, "partitions", "ask the broker")
        stages.append(capsys.readouterr().out)
    assert "expected 3, got 1" in stages[0] and "ask the broker" not in stages[0]
    assert "hint: ask the broker" in stages[1] and "solution" not in stages[1]
    assert "hint: ask the broker" in stages[2]
    assert "`# %% exercise:03.2` of notebooks/solutions/03_bronze_ingestion.py" in stages[2]


# --- The score ----------------------------------------------------------------------------------------
def test_learner_mode_prints_a_cross_with_a_hint_and_carries_on(workspace, capsys):
    lesson = Lesson("03", "Three")
    lesson.check("03.1", check_equal, 3, 3, "partitions")
    lesson.check("03.2", check_equal, 1, 3, "partitions", "ask the broker")
    assert lesson.score.results["03.1"] and not lesson.score.results["03.2"]
    out = capsys.readouterr().out
    assert "✓ 03.1 — partitions is 3" in out
    assert "✗ 03.2 — partitions: expected 3, got 1" in out and "ask the broker" not in out
    assert "a hint comes with the next ✗" in out
    lesson.summary()
    assert "Lesson 03: 1/2 checks passed (still to do: 03.2)" in capsys.readouterr().out


def test_running_a_check_again_replaces_its_result(workspace, capsys):
    lesson = Lesson("03", "Three")
    lesson.check("03.1", check_equal, 1, 3, "partitions")
    lesson.check("03.1", check_equal, 3, 3, "partitions")
    lesson.summary()
    assert "Lesson 03: 1/1 checks passed" in capsys.readouterr().out


def test_an_unanswered_exercise_is_a_cross_and_the_check_is_not_called(workspace, capsys):
    def must_not_run(*_args: object) -> CheckResult:
        raise AssertionError("the check ran on a placeholder")

    lesson = Lesson("03", "Three")
    lesson.check("03.1", must_not_run, ...)
    result = lesson.score.results["03.1"]
    assert not result and "not answered yet" in result.message
    assert "✗ 03.1 — not answered yet" in capsys.readouterr().out


def test_a_check_that_raises_is_a_cross_not_a_crash(workspace, capsys):
    def fragile(answer: object) -> CheckResult:
        return check_equal(answer.count(), 3, "rows")  # type: ignore[attr-defined]

    lesson = Lesson("03", "Three")
    lesson.check("03.1", fragile, 42)
    result = lesson.score.results["03.1"]
    assert not result and "AttributeError" in result.message
    assert "✗ 03.1" in capsys.readouterr().out


def test_strict_mode_raises_on_a_failed_check_and_on_an_empty_score(workspace, monkeypatch):
    monkeypatch.setenv("LAB_STRICT", "1")
    lesson = Lesson("03", "Three")
    assert lesson.strict
    with pytest.raises(AssertionError, match=r"check 03\.1 failed"):
        lesson.check("03.1", check_equal, 1, 3, "partitions")
    with pytest.raises(AssertionError, match="could not run"):
        lesson.check("03.2", lambda: 1 / 0)
    with pytest.raises(AssertionError, match="0/0 checks passed"):
        Lesson("04", "Four").summary()


def test_scoreboard_counts():
    board = Scoreboard()
    board.record("a", CheckResult.ok("fine"))
    board.record("b", CheckResult.fail("wrong"))
    assert (board.passed, board.total, board.failed) == (1, 2, ["b"])


# --- The broker and reset --------------------------------------------------------------------------
def _topics(lesson: Lesson) -> dict:
    return AdminClient(lesson.kafka.client_config()).list_topics(timeout=10).topics


@pytest.mark.kafka
def test_reset_deletes_topic_tables_and_checkpoints_together(workspace, kafka, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    lesson = start_lesson("97", "Reset test")
    assert lesson.ensure_broker() == kafka.bootstrap_servers
    assert "no broker started" in capsys.readouterr().out
    assert len(_topics(lesson)[lesson.topic].partitions) == 3
    producer = Producer(lesson.kafka.client_config())
    producer.produce(lesson.topic, value=b"old")
    assert producer.flush(10) == 0
    for folder in (lesson.table("bronze"), lesson.checkpoint("bronze")):
        Path(folder).mkdir(parents=True)
        (Path(folder) / "part-0").write_text("x")
    try:
        lesson.reset()
        assert lesson.topic not in _topics(lesson)
        # emptied, and marked again as the lab's for the cells that write into it next
        assert [path.name for path in lesson.root.iterdir()] == [MARKER]
        assert f"deleted topic {lesson.topic}" in capsys.readouterr().out

        lesson.ensure_broker()  # the topic comes back, empty
        admin = AdminClient(lesson.kafka.client_config())
        latest = {TopicPartition(lesson.topic, p): OffsetSpec.latest() for p in range(3)}
        ends = [f.result(timeout=10).offset for f in admin.list_offsets(latest).values()]
        assert ends == [0, 0, 0]
    finally:
        lesson.reset()


def test_reset_with_the_broker_down_keeps_going_and_says_so(workspace, monkeypatch, capsys):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    lesson = start_lesson("96", "Broker down")
    Path(lesson.table("t")).mkdir(parents=True)
    started = time.monotonic()
    lesson.reset()
    assert time.monotonic() - started < 10, "a reset must not wait on a broker that is down"
    assert not Path(lesson.table("t")).exists()
    assert "is not running, so topic lesson-96-order-events was kept" in capsys.readouterr().out


# --- Catching up after a kernel restart ------------------------------------------------------------
def _notebook(tmp_path):
    import nbformat

    cells = [
        nbformat.v4.new_code_cell("x = 0  # the imports cell: the learner runs it first"),
        nbformat.v4.new_markdown_cell("## 1. One"),
        nbformat.v4.new_code_cell("x += 1\nprint('a setup cell prints')"),
        nbformat.v4.new_code_cell("lesson.reset()"),
        nbformat.v4.new_code_cell("answer = ...", metadata={"tags": ["exercise:09.1"]}),
        nbformat.v4.new_code_cell('lesson.check("09.1", check, answer)'),
        nbformat.v4.new_markdown_cell("## 2. Two"),
        nbformat.v4.new_code_cell("x += 10"),
        nbformat.v4.new_code_cell("raise RuntimeError('broken')"),
        nbformat.v4.new_markdown_cell("## 3. Three"),
        nbformat.v4.new_markdown_cell("## Exercises"),
    ]
    path = tmp_path / "09_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_catching_up_runs_the_cells_before_a_section_quietly(tmp_path, capsys):
    from labsupport.catch_up import cells_before_section, run_cells

    path = _notebook(tmp_path)
    cells = cells_before_section(path, 2)
    assert [index for index, _ in cells] == [
        2
    ]  # not the imports, the reset, the exercise, the check
    namespace = {"x": 0}
    run_cells(cells, namespace, path.name)
    assert namespace["x"] == 1
    assert capsys.readouterr().out == ""
    with pytest.raises(
        LabError, match=re.escape("stopped at cell 8 of 09_x.ipynb: RuntimeError: broken")
    ):
        run_cells(cells_before_section(path, 3), {"x": 0}, path.name)
    with pytest.raises(LabError, match="has no section 7: catch up to one of 1, 2, 3"):
        cells_before_section(path, 7)
    assert [index for index, _ in cells_before_section(path, "exercises")] == [2, 7, 8]
