"""Processes the lab starts and must find again: alive or gone, and really the one it started.

A pid file outlives its process, and the operating system reuses pids, so before the lab signals
a pid it checks that the process is alive (a zombie is not) and is still the program it started.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["alive", "is_this_kafka", "is_zombie", "runs_program"]


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # our own child: reap it if it has exited
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:  # someone else's child, e.g. a notebook kernel's broker
        return not is_zombie(pid)


def is_zombie(pid: int) -> bool:
    """State ``Z`` in ``/proc/<pid>/stat`` (Linux); elsewhere ``ps`` says so."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] == "Z"
    except FileNotFoundError:
        return True  # gone between the two looks
    except OSError:
        try:
            state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True,
                                   text=True, timeout=10, check=False).stdout.strip()  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return False
        return state.startswith("Z")


def is_this_kafka(pid: int, home: Path) -> bool:
    """Guard against pid reuse: the process must be a Kafka JVM started with the config in ``home``."""
    return runs_program(pid, "kafka.Kafka", str(home))


def runs_program(pid: int, *words: str) -> bool:
    """True when ``pid``'s command line holds every one of ``words`` (a guard against pid reuse).

    An empty command line is a process between two programs — Java's launcher execs itself
    again as it starts — so it counts as ours; without ``/proc`` (macOS) the pid file is trusted.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return True
    return not cmdline or all(word in cmdline for word in words)
