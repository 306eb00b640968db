"""Can this Python run the lab? Asked first by the command lines, answered in one line.

``python -m labsupport`` and ``python -m producer.order_producer`` call :func:`exit_unless_ready`
before they import anything else, so a learner who runs them with a Python that is not the
lab's (``python3`` instead of ``.venv/bin/python``) reads what to do instead of a
``ModuleNotFoundError`` traceback; on native Windows, where the lab does not run, they read
where it does. Plain Python only, importable by any Python 3: nothing here may need a package.

>>> unready_reason("labsupport", packages=("json",)) is None  # the standard library is always there
True
>>> unready_reason("labsupport", packages=("no_such_package",))[:47]
"The lab's packages are not installed in this Py"
"""

from __future__ import annotations

import importlib.util
import os
import sys

__all__ = [
    "LAB_PACKAGES",
    "PRODUCER_PACKAGES",
    "WINDOWS_FIX",
    "exit_unless_ready",
    "unready_reason",
]

#: What ``python -m labsupport`` imports from outside the standard library (import names). Not
#: ``delta``: the lab's ``./delta`` folder of tables would be found as that package.
LAB_PACKAGES = ("pyspark", "confluent_kafka", "rich", "pandas", "pyarrow")
#: What the producer imports from outside the standard library.
PRODUCER_PACKAGES = ("confluent_kafka", "rich")
#: The way from native Windows to a system the lab runs on (the preflight says it too).
WINDOWS_FIX = "install WSL2 (`wsl --install` in PowerShell), then clone and run the lab in its Ubuntu terminal"


def unready_reason(command: str, packages: tuple[str, ...] = LAB_PACKAGES) -> str | None:
    """Why this Python cannot run ``python -m <command>``, as one line with the fix; None if it can.

    Looks the ``packages`` up without importing them (``importlib.util.find_spec``), so asking
    costs nothing.
    """
    if os.name == "nt":
        return f"Streaming Lab runs on Linux, macOS and Windows through WSL2: {WINDOWS_FIX}."
    use = f"run `make setup`, then use `.venv/bin/python -m {command} …` or `source .venv/bin/activate`"
    if sys.version_info < (3, 10):  # noqa: UP036  (this runs before the venv's Python is known)
        version = ".".join(str(part) for part in sys.version_info[:3])
        return f"Streaming Lab needs Python 3.10+, and {sys.executable} is {version}: {use}."
    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        return (
            "The lab's packages are not installed in this Python "
            f"({sys.executable}, no {', '.join(missing)}): {use}."
        )
    return None


def exit_unless_ready(command: str, packages: tuple[str, ...] = LAB_PACKAGES) -> None:
    """Print :func:`unready_reason` as ``error: ...`` on stderr and exit 1, if there is one."""
    reason = unready_reason(command, packages)
    if reason is not None:
        print(f"error: {reason}", file=sys.stderr)
        raise SystemExit(1)
