"""A lesson's workspace and its running score: the first cell of every notebook.

``start_lesson("03")`` gives a notebook everything it needs to run without touching any other
lesson or the main pipeline:

- its own **topic** (``lesson-03-order-events``), created by :meth:`Lesson.ensure_broker`;
- its own **Delta tables and checkpoints**, under ``.lab/lessons/03/`` (``LAB_LESSONS_DIR``
  moves the whole lessons folder, as the tests do);
- the **Kafka settings** from the environment: ``KAFKA_BOOTSTRAP_SERVERS`` names a cluster and
  the lab then starts no broker; otherwise the embedded broker on its default port;
- **one reset** (:meth:`Lesson.reset`) that deletes the lesson's topic, tables and checkpoints
  together — they only make sense together: a checkpoint remembers Kafka offsets of a topic
  and the files of a table, so deleting one without the others leaves a query that resumes
  from offsets that no longer exist;
- a **score**: :meth:`Lesson.check` runs an exercise check (``labsupport.checks.lessonNN``) and
  prints ✓ or ✗ with a hint; :meth:`Lesson.summary` prints "n/m checks passed".

Two environment switches, both set by CI: ``LAB_FAST=1`` (:attr:`Lesson.fast`) asks notebooks
for fewer events and shorter waits; ``LAB_STRICT=1`` turns a failed check into an
``AssertionError`` so a broken lesson fails the build. A learner gets neither: a wrong answer
prints ✗ and the notebook carries on.

The order of the lessons lives in one place, the index table of ``notebooks/README.md``;
:func:`labsupport.index.lesson_index` reads it (so :func:`start_lesson` can take the title from it, and
:meth:`Lesson.whats_next` can name the next notebook).

>>> lesson = Lesson("03", "Bronze ingestion")
>>> lesson.topic
'lesson-03-order-events'
>>> lesson.checkpoint("bronze").endswith("03/checkpoints/bronze")
True
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from labsupport.checks.core import CheckResult
from labsupport.config import DEFAULT_LESSONS_DIR, TOPIC, KafkaSettings, LabPaths
from labsupport.env import env_flag
from labsupport.errors import LabError
from labsupport.folders import claim, remove_lab_folder
from labsupport.index import IndexEntry, lesson_index
from labsupport.score import Scoreboard
from labsupport.topics import broker_reachable, delete_topic, ensure_topic

__all__ = ["Lesson", "lessons_dir", "start_lesson"]

_NUMBER = re.compile(r"^\d\d$")
T = TypeVar("T")


def lessons_dir() -> Path:
    """The folder that holds every lesson's workspace: ``LAB_LESSONS_DIR``, else ``.lab/lessons``."""
    return Path(os.environ.get("LAB_LESSONS_DIR") or DEFAULT_LESSONS_DIR).expanduser()


# --- The lesson ----------------------------------------------------------------------------------------
@dataclass
class Lesson:
    """One notebook's workspace, Kafka settings and score. Create it with :func:`start_lesson`."""

    number: str
    title: str
    kafka: KafkaSettings = field(default_factory=KafkaSettings.from_env)
    root: Path = field(init=False)
    score: Scoreboard = field(default_factory=lambda: Scoreboard(strict=env_flag("LAB_STRICT")))

    def __post_init__(self) -> None:
        if not _NUMBER.match(self.number):
            raise LabError(f"A lesson number is two digits, like '03' (got {self.number!r}).")
        self.root = lessons_dir() / self.number
        files = {entry.number: entry.file for entry in lesson_index()}
        if self.number in files:
            self.score.solutions = f"notebooks/solutions/{Path(files[self.number]).stem}.py"

    # --- names and places ---------------------------------------------------------------------------
    @property
    def topic(self) -> str:
        """The lesson's own topic, e.g. ``lesson-03-order-events``."""
        return f"lesson-{self.number}-{TOPIC}"

    @property
    def delta_root(self) -> Path:
        return Path(self.paths.delta_root)

    @property
    def checkpoint_root(self) -> Path:
        return Path(self.paths.checkpoint_root)

    @property
    def paths(self) -> LabPaths:
        """The pipeline's tables and checkpoints inside this lesson's workspace, for
        :func:`labsupport.runner.start_pipeline` and :mod:`labsupport.observe`."""
        return LabPaths.under(self.root)

    def table(self, name: str) -> str:
        """Path of the lesson's Delta table ``name`` (a string, as Spark's ``load``/``save`` want)."""
        return str(self.delta_root / name)

    def checkpoint(self, name: str) -> str:
        """Path of the checkpoint folder of the lesson's streaming query ``name``."""
        return str(self.checkpoint_root / name)

    def group_id(self, name: str = "reader") -> str:
        """A Kafka consumer group id that belongs to this lesson."""
        return f"lesson-{self.number}-{name}"

    # --- switches -------------------------------------------------------------------------------------
    @property
    def fast(self) -> bool:
        """True under ``LAB_FAST=1`` (CI's short mode): use fewer events and shorter waits."""
        return env_flag("LAB_FAST")

    @property
    def strict(self) -> bool:
        """True under ``LAB_STRICT=1`` (CI): a failed check raises ``AssertionError``."""
        return self.score.strict

    def pick(self, normal: T, fast: T) -> T:
        """``normal``, or ``fast`` under ``LAB_FAST=1``: ``n = lesson.pick(500, fast=50)``."""
        return fast if self.fast else normal

    # --- the broker and the topic ---------------------------------------------------------------------
    def ensure_broker(self) -> str:
        """Make sure Kafka answers and the lesson's topic exists; return the bootstrap address.

        With ``KAFKA_BOOTSTRAP_SERVERS`` set, that cluster is used and no broker is started.
        Otherwise the lab's embedded broker is started on its default port (or found running);
        it keeps running after the notebook, for the next one (``make stop`` stops it).
        """
        if KafkaSettings.external_cluster_configured():
            where = f"KAFKA_BOOTSTRAP_SERVERS={self.kafka.bootstrap_servers} (no broker started)"
        else:
            from labsupport.broker import EmbeddedBroker

            broker = EmbeddedBroker()
            was_running = broker.status().running
            started = time.monotonic()
            broker.start()
            elapsed = time.monotonic() - started
            where = f"the lab's broker at {broker.bootstrap_servers} " + (
                "(already running)" if was_running else f"(started in {elapsed:.1f} s)"
            )
        created = ensure_topic(self.kafka, self.topic)  # returns once its partitions serve
        print(f"Kafka: {where}; topic {self.topic} {'created' if created else 'ready'}")
        return self.kafka.bootstrap_servers

    # --- reset ----------------------------------------------------------------------------------------
    def reset(self, timeout: float = 20.0) -> None:
        """Delete the lesson's topic, tables and checkpoints together, so it starts from scratch.

        Streaming queries still running in this kernel are stopped first (they would write into
        the folders being deleted). Kafka deletes a topic in the background, so this waits (at
        most ``timeout`` seconds) until it is gone: a following :meth:`ensure_broker` then
        creates it afresh. Other lessons and the main pipeline are not touched.
        """
        stopped = _stop_active_queries()
        topic_note = self._delete_topic(timeout)
        deleted = remove_lab_folder(self.root, "LAB_LESSONS_DIR")
        folder_note = f"deleted {self.root}" if deleted else f"nothing in {self.root}"
        claim(self.root)  # the lesson's next cells write here: a folder the lab made
        notes = [topic_note, folder_note]
        if stopped:
            notes.insert(0, f"stopped {stopped} streaming quer{'y' if stopped == 1 else 'ies'}")
        print(f"Lesson {self.number} reset: " + "; ".join(notes))

    def catch_up(self, section: int | str) -> None:
        """Bring the lesson to the start of ``section`` after a kernel restart, in one call.

        ``section`` is a section's number, or ``"exercises"`` for the exercises at the end.

        Starts the lesson over (:meth:`reset`), then quietly runs the code cells of the
        sections before ``section`` — not the exercises — in the notebook's namespace
        (:mod:`labsupport.catch_up` says why both). Run the imports cell first, then
        ``lesson.catch_up(3)``.
        """
        import sys

        from labsupport.catch_up import cells_before_section, run_cells
        from labsupport.index import NOTEBOOKS_DIR

        files = {entry.number: entry.file for entry in lesson_index()}
        if self.number not in files:
            raise LabError(f"Lesson {self.number} is not in notebooks/README.md's index.")
        notebook = NOTEBOOKS_DIR / files[self.number]
        cells = cells_before_section(notebook, section)
        namespace = sys._getframe(1).f_globals  # the notebook's variables (the caller's globals)
        self.reset()
        self.ensure_broker()
        started = time.monotonic()
        run_cells(cells, namespace, notebook.name)
        print(
            f"Lesson {self.number} is at the start of {'section ' if isinstance(section, int) else ''}"
            f"{section}: ran the {len(cells)} "
            f"cells before it in {time.monotonic() - started:.0f} s"
        )

    def _delete_topic(self, timeout: float) -> str:
        if not broker_reachable(self.kafka):
            return (
                f"Kafka at {self.kafka.bootstrap_servers} is not running, so topic {self.topic} "
                "was kept (run lesson.ensure_broker() and reset again to delete it)"
            )
        if delete_topic(self.kafka, self.topic, timeout):
            return f"deleted topic {self.topic}"
        return f"topic {self.topic} did not exist"

    # --- the score --------------------------------------------------------------------------------------
    def check(
        self, name: str, check: Callable[..., CheckResult], *args: Any, **kwargs: Any
    ) -> None:
        """Grade exercise ``name`` with ``check(*args, **kwargs)``; print ✓ or ✗ with a hint.

        ``lesson.check("03.1", check_bronze_region_rows, eu_west_rows, spark, bronze_path, "eu-west")`` — the arguments are whatever
        the check function takes (see ``labsupport.checks.lessonNN``). The result is kept in
        ``lesson.score.results[name]`` (nothing is returned, so a check cell shows only its line).
        """
        self.score.run(name, check, *args, **kwargs)

    def summary(self) -> None:
        """Print "Lesson NN: n/m checks passed" (and which are still to do).

        In strict mode a lesson without any check, or with a failed one, raises.
        """
        line = self.score.summary_line(f"Lesson {self.number}")
        print(("✓ " if self.score.total and not self.score.failed else "✗ ") + line)
        if self.strict and (self.score.total == 0 or self.score.failed):
            raise AssertionError(line)

    def next_lesson(self) -> IndexEntry | None:
        """The row that follows this lesson's in ``notebooks/README.md`` (None after the last)."""
        entries = lesson_index()
        numbers = [entry.number for entry in entries]
        if self.number not in numbers or numbers.index(self.number) == len(entries) - 1:
            return None
        return entries[numbers.index(self.number) + 1]

    def whats_next(self) -> None:
        """Print the notebook that follows this one, from the index in ``notebooks/README.md``."""
        following = self.next_lesson()
        if following is None:
            print("This is the last lesson: well done.")
        else:
            print(f"Next: {following.file} — {following.title} (about {following.minutes} min)")


def _stop_active_queries() -> int:
    """Stop the streaming queries of this process's Spark session; return how many."""
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        return 0
    queries = list(spark.streams.active)
    for query in queries:
        query.stop()
    return len(queries)


def start_lesson(number: str, title: str | None = None) -> Lesson:
    """The first call of every notebook: the lesson's workspace, settings and score.

    ``title`` defaults to the lesson's title in ``notebooks/README.md``. Nothing is started
    here (no broker, no Spark): call :meth:`Lesson.ensure_broker` and ``get_spark()`` when the
    lesson needs them.
    """
    if title is None:
        titles = {entry.number: entry.title for entry in lesson_index()}
        if number not in titles:
            raise LabError(
                f"Lesson {number} is not in the index of notebooks/README.md: add its row there."
            )
        title = titles[number]
    lesson = Lesson(number, title)
    claim(lessons_dir())
    claim(lesson.root)
    modes = [name for name, on in (("fast", lesson.fast), ("strict", lesson.strict)) if on]
    print(
        f"Lesson {number} — {title}\n"
        f"  topic      {lesson.topic} on {lesson.kafka.bootstrap_servers}\n"
        f"  workspace  {lesson.root}" + (f"\n  mode       {', '.join(modes)}" if modes else "")
    )
    return lesson
