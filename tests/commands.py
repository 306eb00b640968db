"""Run the lab's command lines as a learner does, and read their one-line refusals."""

from __future__ import annotations

import os
import subprocess
import sys

LABSUPPORT = (sys.executable, "-m", "labsupport")
PRODUCER = (sys.executable, "-m", "producer.order_producer")


def run(command: tuple[str, ...], *args: str, **env: str) -> subprocess.CompletedProcess:
    """``command`` with ``args`` and extra environment ``env``; no terminal (stdin is empty)."""
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def refusal(result: subprocess.CompletedProcess) -> str:
    """The one line a refused command prints (no traceback), after checking there is only one."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode in (1, 2), (result.returncode, result.stdout, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]
