"""A pipeline you can kill: ``python -m labsupport pipeline run`` as a process group of its own.

:func:`pipeline_process` runs the pipeline as its own process group (the Python driver *and* its
Spark JVM), so that :meth:`PipelineProcess.kill` can end both with ``SIGKILL`` — no ``finally``,
no clean shutdown, exactly like a machine that loses power. What survives is what the checkpoint
and the Delta log hold, and that is the point of lesson 06. While it runs, its checkpoints show
how far it got (:mod:`labsupport.checkpoint`): a batch with an offsets file but no commit file is
in flight, the moment to pull the plug.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from labsupport.checkpoint import batch_ids
from labsupport.config import PROJECT_ROOT, STARTING_OFFSETS, KafkaSettings, LabPaths
from labsupport.errors import LabError

__all__ = ["PipelineProcess", "kill_process_group", "pipeline_process", "start_pipeline_process"]


def kill_process_group(process: subprocess.Popen, timeout: float = 30.0) -> int | None:
    """``SIGKILL`` ``process`` and every process of its group, then reap it; return its exit code.

    A process started with ``start_new_session=True`` leads its own group, so the group id is its
    pid and this reaches its children too (the Spark JVM of a PySpark driver). Calling it again,
    or on a process that already ended, is harmless.
    """
    with suppress(ProcessLookupError, PermissionError):  # the whole group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        raise LabError(
            f"Process {process.pid} did not end within {timeout:.0f} s of SIGKILL."
        ) from None


@dataclass
class PipelineProcess:
    """The pipeline running as a separate process group; see :func:`pipeline_process`."""

    process: subprocess.Popen
    log_file: Path
    paths: LabPaths
    killed_at: datetime | None = None  # when kill() pulled the plug (naive local time)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the pipeline printed (its stdout and stderr go to :attr:`log_file`)."""
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def wait_for_commits(self, count: int, query: str = "bronze", timeout: float = 180.0) -> int:
        """Wait until ``query`` has committed at least ``count`` micro-batches; return how many.

        Bounded: raises :class:`LabError` (with the end of the log) when the process exits first
        or ``timeout`` seconds pass.
        """
        checkpoint = self.paths.checkpoint(query)
        deadline = time.monotonic() + timeout
        while (done := len(batch_ids(checkpoint))) < count:
            if not self.alive:
                raise LabError(
                    f"The pipeline exited with code {self.process.returncode} after {done} "
                    f"committed batches of {query}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise LabError(
                    f"{query} committed {done} of {count} batches within {timeout:.0f} s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)
        return done

    def wait_for_batch_in_flight(self, query: str = "bronze", timeout: float = 30.0) -> int | None:
        """Wait until ``query`` has started a batch it has not committed; return its id.

        "Started" means its ``offsets/N`` file is written but ``commits/N`` is not yet: the
        moment to pull the plug. None when no such batch shows up within ``timeout`` seconds
        (the topic has no more data, say) or the process ended.
        """
        checkpoint = self.paths.checkpoint(query)
        deadline = time.monotonic() + timeout
        while self.alive and time.monotonic() < deadline:
            in_flight = set(batch_ids(checkpoint, "offsets")) - set(batch_ids(checkpoint))
            if in_flight:
                return max(in_flight)
            time.sleep(0.05)
        return None

    def kill(self, timeout: float = 30.0) -> int | None:
        """``SIGKILL`` the whole process group (driver and JVM) and reap it: a crash, not a stop."""
        was_alive = self.alive
        code = kill_process_group(self.process, timeout)
        if self.killed_at is None and was_alive:
            self.killed_at = datetime.now()  # after: a dead process writes no more files
        return code


def start_pipeline_process(
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths,
    *,
    trigger: str = "1 second",
    max_offsets_per_trigger: int | None = None,
    starting_offsets: str = STARTING_OFFSETS,
    log_file: str | Path | None = None,
) -> PipelineProcess:
    """Start ``python -m labsupport pipeline run`` in a new process group and return at once.

    Prefer :func:`pipeline_process`, which also kills it when the block ends. The process gets
    this process's environment (so SASL credentials stay in the environment, never on the command
    line); its output goes to ``log_file`` (default: ``pipeline-process.log`` beside the
    checkpoints).
    """
    log_path = (
        Path(log_file) if log_file else Path(paths.checkpoint_root).parent / "pipeline-process.log"
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "labsupport", "pipeline", "run",
        "--trigger", trigger,
        "--bootstrap-servers", settings.bootstrap_servers,
        "--topic", topic,
        "--delta-root", str(paths.delta_root),
        "--checkpoint-root", str(paths.checkpoint_root),
        "--starting-offsets", starting_offsets,
    ]  # fmt: skip
    if max_offsets_per_trigger:
        command += ["--max-offsets-per-trigger", str(max_offsets_per_trigger)]
    with log_path.open("ab") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: one killpg reaches the JVM too
        )
    return PipelineProcess(process, log_path, paths)


@contextmanager
def pipeline_process(
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths,
    **options: object,
) -> Iterator[PipelineProcess]:
    """The pipeline as a separate process for the length of a ``with`` block, killed at its end.

    ``options`` are those of :func:`start_pipeline_process`. Whatever happens in the block, the
    process group is killed with ``SIGKILL`` and reaped when it ends (twice is harmless)::

        with pipeline_process(settings, topic, paths, max_offsets_per_trigger=25) as pipeline:
            pipeline.wait_for_commits(2, timeout=120)
            pipeline.kill()                      # mid-stream: batch 2 may be half done
    """
    running = start_pipeline_process(settings, topic, paths, **options)  # type: ignore[arg-type]
    try:
        yield running
    finally:
        running.kill()
