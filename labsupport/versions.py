"""Every version the lab depends on, read from the one file that pins them: ``pyproject.toml``.

Python packages are pinned in ``[project] dependencies``; JVM artifacts (Spark's Kafka
connector, Delta, the Kafka broker) in ``[tool.streaming-lab.jvm]``. Nothing else in the lab
spells a version number, so an upgrade is one edit, and :func:`check_installed` catches a
virtual environment that no longer matches the pins.

>>> KAFKA_VERSION.startswith("4.")
True
"""

from __future__ import annotations

import re
import sys
from functools import cache
from importlib import metadata

from labsupport.config import PROJECT_ROOT
from labsupport.errors import LabError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "BROKER_EXCLUDES",
    "BROKER_PACKAGES",
    "KAFKA_VERSION",
    "SPARK_PACKAGES",
    "check_installed",
    "pinned_python_packages",
    "pyproject",
]


@cache
def pyproject() -> dict:
    """The parsed ``pyproject.toml`` of this checkout."""
    path = PROJECT_ROOT / "pyproject.toml"
    if not path.exists():
        raise LabError(
            f"{path} not found: run the lab from its git checkout (pip install -e .), "
            "or set LAB_HOME to the checkout."
        )
    return tomllib.loads(path.read_text())


def _jvm() -> dict:
    return pyproject()["tool"]["streaming-lab"]["jvm"]


SPARK_PACKAGES: list[str] = list(_jvm()["spark-packages"])
BROKER_PACKAGES: list[str] = list(_jvm()["broker-packages"])
#: ``org:name`` of jars kept off the broker's classpath (replaced by a fixed fork above).
BROKER_EXCLUDES: list[str] = list(_jvm().get("broker-excludes", []))
KAFKA_VERSION: str = _jvm()["kafka-version"]

_PIN = re.compile(r"^\s*([A-Za-z0-9_.\-\[\]]+?)\s*==\s*([^;\s]+)")


def pinned_python_packages() -> dict[str, str]:
    """``{name: version}`` for every ``==`` pin in the dependencies and extras."""
    project = pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins: dict[str, str] = {}
    for requirement in requirements:
        match = _PIN.match(requirement)
        if match:
            name = re.sub(r"\[.*\]", "", match.group(1)).lower()
            pins[name] = match.group(2)
    return pins


def check_installed(names: tuple[str, ...] = ("pyspark", "delta-spark")) -> None:
    """Fail with a clear message when an installed package differs from its pin."""
    pins = pinned_python_packages()
    for name in names:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise LabError(f"{name} is not installed: run `make setup`.") from None
        if installed != pins[name]:
            raise LabError(
                f"{name} {installed} is installed but the lab pins {pins[name]}: run `make setup`."
            )
