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
- a **score**: :meth:`Lesson.check` runs an exercise check from :mod:`labsupport.checks` and
  prints ✓ or ✗ with a hint; :meth:`Lesson.summary` prints "n/m checks passed".

Two environment switches, both set by CI: ``LAB_FAST=1`` (:attr:`Lesson.fast`) asks notebooks
for fewer events and shorter waits; ``LAB_STRICT=1`` turns a failed check into an
``AssertionError`` so a broken lesson fails the build. A learner gets neither: a wrong answer
prints ✗ and the notebook carries on.

The order of the lessons lives in one place, the index table of ``notebooks/README.md``;
:func:`lesson_index` reads it (so :func:`start_lesson` can take the title from it, and
:meth:`Lesson.whats_next` can name the next notebook).

>>> lesson = Lesson("03", "Event time and watermarks")
>>> lesson.topic
'lesson-03-order-events'
>>> lesson.checkpoint("bronze").endswith("03/checkpoints/bronze")
True
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from labsupport.checks import CheckResult, is_unanswered
from labsupport.config import PROJECT_ROOT, RUNTIME_DIR, TOPIC, KafkaSettings
from labsupport.errors import LabError

__all__ = [
    "NOTEBOOKS_DIR",
    "IndexEntry",
    "Lesson",
    "Scoreboard",
    "lesson_index",
    "lessons_dir",
    "start_lesson",
]

#: Where the numbered notebooks and their index (``README.md``) live.
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
_NUMBER = re.compile(r"^\d\d$")
_INDEX_FILE = re.compile(r"(\d\d)_[A-Za-z0-9_]+\.ipynb")
T = TypeVar("T")


def lessons_dir() -> Path:
    """The folder that holds every lesson's workspace: ``LAB_LESSONS_DIR``, else ``.lab/lessons``."""
    return Path(os.environ.get("LAB_LESSONS_DIR") or RUNTIME_DIR / "lessons")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "0").strip().lower() in {"1", "true", "yes"}


# --- The index: the order of the lessons, in one place -------------------------------------------
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


# --- The score ---------------------------------------------------------------------------------------
@dataclass
class Scoreboard:
    """Each check's latest result, by name; re-running a check cell replaces its result.

    In ``strict`` mode (CI) a failed check raises ``AssertionError`` after printing it.
    """

    strict: bool = False
    results: dict[str, CheckResult] = field(default_factory=dict)

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
            result = CheckResult.fail(
                "not answered yet: replace the `...` in the exercise cell with your answer",
                "write your answer in the exercise cell above, run it, then run this cell again",
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
        if not result.passed and result.hint:
            print(f"  hint: {result.hint}")

    def summary_line(self, label: str) -> str:
        line = f"{label}: {self.passed}/{self.total} checks passed"
        if self.failed:
            line += f" (still to do: {', '.join(self.failed)})"
        return line


# --- The lesson ----------------------------------------------------------------------------------------
@dataclass
class Lesson:
    """One notebook's workspace, Kafka settings and score. Create it with :func:`start_lesson`."""

    number: str
    title: str
    kafka: KafkaSettings = field(default_factory=KafkaSettings.from_env)
    root: Path = field(init=False)
    score: Scoreboard = field(default_factory=lambda: Scoreboard(strict=_env_flag("LAB_STRICT")))

    def __post_init__(self) -> None:
        if not _NUMBER.match(self.number):
            raise LabError(f"A lesson number is two digits, like '03' (got {self.number!r}).")
        self.root = lessons_dir() / self.number

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
    def paths(self):
        """The pipeline's tables and checkpoints inside this lesson's workspace (a ``LabPaths``),
        for :func:`labsupport.runner.start_pipeline` and :mod:`labsupport.observe`."""
        from labsupport.runner import LabPaths

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
        return _env_flag("LAB_FAST")

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
        from labsupport.topics import ensure_topic

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
        folder_note = f"nothing in {self.root}"
        if self.root.exists():
            shutil.rmtree(self.root)
            folder_note = f"deleted {self.root}"
        notes = [topic_note, folder_note]
        if stopped:
            notes.insert(0, f"stopped {stopped} streaming quer{'y' if stopped == 1 else 'ies'}")
        print(f"Lesson {self.number} reset: " + "; ".join(notes))

    def _delete_topic(self, timeout: float) -> str:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        from labsupport.preflight import broker_reachable

        if not broker_reachable(self.kafka):
            return (
                f"Kafka at {self.kafka.bootstrap_servers} is not running, so topic {self.topic} "
                "was kept (run lesson.ensure_broker() and reset again to delete it)"
            )
        # log_level 3: librdkafka's informational lines (queue purges) would read as errors here
        admin = AdminClient({**self.kafka.client_config(), "log_level": 3})
        future = admin.delete_topics([self.topic], operation_timeout=timeout)[self.topic]
        try:
            future.result(timeout=timeout)
        except KafkaException as error:
            if error.args[0].name() == "UNKNOWN_TOPIC_OR_PART":
                return f"topic {self.topic} did not exist"
            raise LabError(f"Could not delete topic {self.topic}: {error.args[0].str()}") from None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.topic not in admin.list_topics(timeout=5).topics:
                return f"deleted topic {self.topic}"
            time.sleep(0.2)
        raise LabError(
            f"Kafka accepted the deletion of {self.topic} but still lists it after {timeout:.0f} s: "
            "run lesson.reset() again in a moment."
        )

    # --- the score --------------------------------------------------------------------------------------
    def check(
        self, name: str, check: Callable[..., CheckResult], *args: Any, **kwargs: Any
    ) -> None:
        """Grade exercise ``name`` with ``check(*args, **kwargs)``; print ✓ or ✗ with a hint.

        ``lesson.check("03.1", check_watermark, answer, spark)`` — the arguments are whatever
        the check function takes (see :mod:`labsupport.checks`). The result is kept in
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
    lesson.root.mkdir(parents=True, exist_ok=True)
    modes = [name for name, on in (("fast", lesson.fast), ("strict", lesson.strict)) if on]
    print(
        f"Lesson {number} — {title}\n"
        f"  topic      {lesson.topic} on {lesson.kafka.bootstrap_servers}\n"
        f"  workspace  {lesson.root}" + (f"\n  mode       {', '.join(modes)}" if modes else "")
    )
    return lesson
