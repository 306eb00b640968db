"""The machine the lab runs on — its operating system and memory — and what the lessons need.

Plain Python and read-only: :meth:`Machine.this` reads the facts, and a :class:`Machine`'s
verdicts judge them against what the lab needs (the preflight, :mod:`labsupport.preflight`,
shows them). A :class:`Machine` can be written by hand, so a test judges one that is not this:

>>> Machine(os_name="nt", system="Windows", version="11").system_verdict().status
'fail'
>>> Machine(kernel="Linux version 5.15.167.4-microsoft-standard-WSL2").kind
'wsl2'
>>> Machine(system="Darwin", version="14.5").name
'macOS 14.5'
>>> Machine(total_memory=GB).memory_verdict().status
'fail'
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

from labsupport.config import DRIVER_MEMORY
from labsupport.interpreter import WINDOWS_FIX

__all__ = [
    "GB",
    "LESSON_PEAK_MEMORY",
    "LESSON_PEAK_MEMORY_1G",
    "MEMORY_HEADROOM",
    "Kind",
    "Machine",
    "Status",
    "Verdict",
    "memory_bytes",
    "resident_memory",
]

GB = 1024**3
#: The most memory lessons 04–06 hold at once (bytes): the Jupyter kernel, its Spark driver JVM
#: (``spark.driver.memory`` 2g), the lab's Kafka broker (a JVM, at most 768 MB of heap) and, in
#: lesson 06, a second pipeline with a Spark JVM of its own. Measured on 2026-12-03 (Linux,
#: 2 cores, Java 17, ``LAB_FAST=1`` as the tests run them) by running
#: ``pytest tests/test_notebooks.py -m "" -k "06_checkpoints or 04_event or 05_gold" -n 0``
#: while summing, once a second, the memory (PSS) of pytest and every process under it. Peaks,
#: solved / unsolved, in GB (1024³ bytes): 04 2.30 / 2.30, 05 2.19 / 2.33, 06 2.13 / 2.01 —
#: the notebook's Spark JVM 1.3–1.7 GB, the broker 0.4, the kernel 0.2; lesson 06's second
#: pipeline runs early, while the first Spark is still small. Rounded up: 2.4 GB.
LESSON_PEAK_MEMORY = round(2.4 * GB)
#: The same with ``LAB_DRIVER_MEMORY=1g`` (every notebook still passed, no slower beyond noise):
#: 04 1.95 / 1.80, 05 1.98 / 1.80, 06 1.81 / 1.87. Rounded up: 2.0 GB.
LESSON_PEAK_MEMORY_1G = round(2.0 * GB)
#: Room on top for what the measurement did not hold: the JupyterLab server and its browser tab,
#: and a Spark heap that grows further in a learner's longer session than in the tests' runs.
MEMORY_HEADROOM = GB

Status = Literal["ok", "warn", "fail", "skip"]
Kind = Literal["windows", "wsl1", "wsl2", "linux", "macos", "other"]
_SYSTEMS = {"Linux": "linux", "Darwin": "macos"}
#: What to say about a system the lab does not run on, or is not tested on.
_SYSTEM_PROBLEMS: dict[str, tuple[Status, str, str]] = {
    "windows": (
        "fail",
        "the lab runs on Linux, macOS or WSL 2",
        WINDOWS_FIX,
    ),
    "wsl1": (
        "warn",
        "the lab is tested on WSL 2 (a real Linux kernel)",
        "`wsl --set-version <distro> 2` in PowerShell",
    ),
    "other": (
        "warn",
        "the lab is tested on Linux, macOS and WSL 2",
        "if something fails, use one of those (or a Codespace: see the README)",
    ),
}


class Verdict(NamedTuple):
    """A fact judged: ``ok``/``warn``/``fail``/``skip``, what was found, and the fix."""

    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Machine:
    """An operating system and its memory in bytes (``None``: not known on this system)."""

    os_name: str = "posix"  #: ``os.name``: ``nt`` on native Windows
    system: str = "Linux"  #: ``platform.system()``: Linux, Darwin, Windows...
    version: str = ""  #: the release to show (macOS 14.5, Linux 6.8.0)
    kernel: str = ""  #: ``/proc/version`` on Linux: it names Microsoft's kernel under WSL
    total_memory: int | None = None
    available_memory: int | None = None

    @classmethod
    def this(cls) -> Machine:
        """The machine this Python runs on."""
        system = platform.system()
        kernel = ""
        if system == "Linux":
            try:
                kernel = Path("/proc/version").read_text()
            except OSError:
                kernel = platform.release()
        version = platform.mac_ver()[0] if system == "Darwin" else platform.release()
        return cls(os.name, system, version, kernel, _total_memory(), _available_memory())

    @property
    def kind(self) -> Kind:
        """``windows`` (native), ``wsl1``, ``wsl2``, ``linux``, ``macos`` or ``other``."""
        if self.os_name == "nt":
            return "windows"
        kernel = self.kernel.lower()
        if "microsoft" in kernel:
            return "wsl2" if "wsl2" in kernel or "microsoft-standard" in kernel else "wsl1"
        return _SYSTEMS.get(self.system, "other")  # type: ignore[return-value]

    @property
    def name(self) -> str:
        """What to call it in a message: ``WSL 2 (Linux 5.15...)``, ``macOS 14.5``..."""
        names = {"windows": "native Windows", "wsl1": "WSL 1", "wsl2": "WSL 2", "macos": "macOS"}
        name = names.get(self.kind, self.system)
        if self.kind.startswith("wsl"):
            return f"{name} (Linux {self.version})" if self.version else name
        return f"{name} {self.version}".strip()

    def system_verdict(self) -> Verdict:
        """Linux, macOS and WSL 2 are fine; native Windows fails (WSL 2 is the way there)."""
        problem = _SYSTEM_PROBLEMS.get(self.kind)
        if problem is None:
            return Verdict("ok", self.name)
        status, why, fix = problem
        return Verdict(status, f"{self.name}: {why}", fix)

    def memory_verdict(self, lab_resident: int = 0, driver_memory: str = DRIVER_MEMORY) -> Verdict:
        """Memory against what lessons 04–06 were measured to use, with a little headroom.

        ``lab_resident`` is what the lab's own processes hold already (a kernel and its Spark,
        the broker): part of the need, so it counts as free. ``driver_memory`` is Spark's
        (``LAB_DRIVER_MEMORY``): 1g or less lowers the need. Fails when not even that fits the
        machine; warns when free memory (the total on macOS) is short of the need plus headroom.
        """
        total = self.total_memory
        if total is None:
            return Verdict("skip", f"not readable on {self.name}")
        small = memory_bytes(driver_memory) <= GB
        need = LESSON_PEAK_MEMORY_1G if small else LESSON_PEAK_MEMORY
        uses = f"lessons 04–06 use up to {need / GB:.1f} GB"
        if total < LESSON_PEAK_MEMORY_1G:
            room = -(-(LESSON_PEAK_MEMORY + MEMORY_HEADROOM) // GB)  # whole GB, rounded up
            return Verdict(
                "fail",
                f"{total / GB:.1f} GB in all; lessons 04–06 use up to "
                f"{LESSON_PEAK_MEMORY_1G / GB:.1f} GB even with LAB_DRIVER_MEMORY=1g",
                f"use a machine (or a Codespace) with {room} GB or more",
            )
        if self.available_memory is None:
            free, found = total, f"{total / GB:.1f} GB in all; {uses}"
        else:
            free = min(total, self.available_memory + lab_resident)
            found = f"{free / GB:.1f} of {total / GB:.1f} GB free for the lab; {uses}"
        if free < need + MEMORY_HEADROOM:
            smaller = "" if small else "; or `export LAB_DRIVER_MEMORY=1g` before `make lab`"
            wsl = "; WSL2 gets half the laptop's memory: memory=6GB under [wsl2] in .wslconfig"
            return Verdict(
                "warn", found, f"close other programs{smaller}{wsl * (self.kind == 'wsl2')}"
            )
        return Verdict("ok", found)


_UNITS = {"k": 1024, "m": 1024**2, "g": GB, "t": 1024**4}


def memory_bytes(size: str) -> int:
    """A JVM memory size in bytes, read as Spark reads ``spark.driver.memory`` (no unit: MiB).

    >>> memory_bytes("2g") == 2 * GB, memory_bytes("768m") == memory_bytes("768")
    (True, True)
    """
    found = re.fullmatch(r"(\d+)([kmgt]?)", size.strip().lower())
    if found is None:
        raise ValueError(f"not a memory size like 2g or 768m: {size!r}")
    return int(found.group(1)) * _UNITS[found.group(2) or "m"]


def _total_memory() -> int | None:
    """Physical memory, or a container's memory limit when that is lower (cgroup v2)."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        return None
    limit = _cgroup_limit()
    return min(physical, limit) if limit else physical


def _cgroup_limit() -> int | None:
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _available_memory() -> int | None:
    """Linux: ``MemAvailable`` (what programs can take without swapping); elsewhere unknown."""
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return None  # macOS: vm_stat's counts would be a guess, so the preflight uses the total
    found = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.MULTILINE)
    if found is None:
        return None
    available = int(found.group(1)) * 1024
    total = _total_memory()
    return min(available, total) if total else available


def resident_memory(pids: Iterable[int]) -> int:
    """Bytes the processes ``pids`` and all their descendants hold in memory (Linux; else 0).

    The lab's own processes — this Python, a Spark JVM it started, the broker — are part of the
    lessons' need, so the preflight counts them as available to the lessons.
    """
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    found = {pid for pid in pids if pid in parents}
    todo = list(found)
    while todo:
        parent = todo.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        todo += children
    return sum(_rss(pid) for pid in found)


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0
