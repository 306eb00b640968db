"""Find the Java runtime that Spark and the embedded broker need, and say clearly when it is missing.

Spark 4 and Kafka 4 both need Java 17 or newer. ``JAVA_HOME`` wins over ``PATH``, the same rule
Spark's launcher follows, so the lab checks the Java that will actually run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from labsupport.errors import LabError

__all__ = ["FAST_START_OPTIONS", "MIN_JAVA", "java_executable", "java_version", "require_java"]

MIN_JAVA = 17
#: JIT options for the lab's JVMs (Spark and the broker). C1 only: they are short-lived and their
#: data small, so compiling fast beats compiling well (Spark start and the first Delta write take
#: ~40 % less). With C1 alone the JVM reserves a 48 MB code cache, which a long session (a
#: notebook, the test suite) fills, and then the JIT switches off for good: reserve what full
#: tiering would.
FAST_START_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=240m")


def java_executable() -> str:
    """Path of the ``java`` binary: ``$JAVA_HOME/bin/java``, else the one on ``PATH``."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.exists():
            return str(candidate)
        raise LabError(
            f"JAVA_HOME={java_home} has no bin/java: point JAVA_HOME at a JDK {MIN_JAVA}+."
        )
    found = shutil.which("java")
    if not found:
        raise LabError(
            f"Java not found: install a JDK {MIN_JAVA}+ (e.g. `apt install openjdk-17-jdk`, "
            "or `conda env create -f environment.yml`) and run again."
        )
    return found


#: Seconds ``java -version`` may take (a JVM starts in well under one; a hung one never ends).
JAVA_TIMEOUT = 30


@cache
def java_version(java: str | None = None) -> int:
    """The major version of ``java`` (17 for ``openjdk version "17.0.15"``)."""
    java = java or java_executable()
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, check=False, timeout=JAVA_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise LabError(
            f"`{java} -version` did not answer within {JAVA_TIMEOUT} s: check that it is a "
            "working JDK (or set JAVA_HOME to one)."
        ) from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        raise LabError(f"Could not read the version of {java}: check that it is a working JDK.")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major  # "1.8" means Java 8


def require_java() -> str:
    """Return the ``java`` to use, or raise a one-line :class:`LabError` naming the fix."""
    java = java_executable()
    version = java_version(java)
    if version < MIN_JAVA:
        raise LabError(
            f"Java {version} found at {java}, but Spark 4 and Kafka 4 need Java {MIN_JAVA}+: "
            f"install a newer JDK and set JAVA_HOME to it."
        )
    return java
