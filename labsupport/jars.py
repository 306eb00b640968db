"""Resolve the lab's JVM dependencies once, into a cache inside the project, and use them offline.

Neither Spark's Kafka connector nor Delta's jars ship in the pip wheels, and the embedded Kafka
broker is Java. The lab resolves them with Apache Ivy — the resolver that ships *inside* pyspark
and that ``spark.jars.packages`` uses — run directly, so a learner needs nothing beyond Python
and Java. Two groups are kept apart because they need different ``kafka-clients`` versions:

- ``spark``: the connector and Delta, minus every jar pyspark already ships (Spark's own copy
  wins), handed to Spark as ``spark.jars`` — local files, no network at session start;
- ``broker``: the Kafka broker and a log binding, used as the broker's classpath.

Maven Central is the default repository; ``LAB_MAVEN_REPO`` points Ivy at a mirror instead.
Whichever it is, every jar must match the SHA-256 pinned for it in ``resources/jars.sha256``:
a jar that differs, or that the file does not name, stops the setup with a one-line error.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from labsupport.config import RUNTIME_DIR
from labsupport.errors import LabError
from labsupport.java import require_java
from labsupport.versions import BROKER_EXCLUDES, BROKER_PACKAGES, SPARK_PACKAGES

__all__ = [
    "CHECKSUMS",
    "JarGroup",
    "cached_jars",
    "ensure_jars",
    "jars_dir",
    "pinned_checksums",
    "pyspark_jars_dir",
    "sha256",
    "verify_jars",
    "write_checksums",
]

JarGroup = Literal["spark", "broker"]
_PACKAGES: dict[str, list[str]] = {"spark": SPARK_PACKAGES, "broker": BROKER_PACKAGES}
_EXCLUDES: dict[str, list[str]] = {"spark": [], "broker": BROKER_EXCLUDES}
#: ``<sha256>  <group>/<jar>`` per line: the one place the lab's jar checksums are pinned.
CHECKSUMS = Path(__file__).parent / "resources" / "jars.sha256"
_MANIFEST = "resolved.txt"
#: Seconds one group's resolution may take (about 30 s from Maven Central here).
RESOLVE_TIMEOUT = 900


def pyspark_jars_dir() -> Path:
    """The folder of jars that the pyspark wheel ships (Spark itself, Ivy, Hadoop client...)."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def jars_dir(group: JarGroup) -> Path:
    """Where a group's resolved jars live (git-ignored, cleared only by ``make distclean``)."""
    return RUNTIME_DIR / "jars" / group


def cached_jars(group: JarGroup) -> list[Path] | None:
    """The jar files of ``group`` if the cache holds them for today's pins, else ``None``.

    Read-only: it reads the cache's manifest, as :func:`ensure_jars` does first, and never
    downloads (the preflight uses it to report missing jars; ``make setup`` resolves them).
    """
    coordinates = _PACKAGES[group] + [f"exclude {name}" for name in _EXCLUDES[group]]
    return _read_manifest(jars_dir(group), coordinates)


def ensure_jars(group: JarGroup, *, quiet: bool = False, verify: bool = True) -> list[Path]:
    """The jar files of ``group``, resolving them first if the cache is missing or out of date.

    The cache is valid while its manifest names the same coordinates as ``pyproject.toml``,
    so changing a pin re-resolves and nothing else touches the network. Downloaded jars are
    checked against their pinned checksums (``verify=False`` only to pin new ones).
    """
    target = jars_dir(group)
    coordinates = _PACKAGES[group] + [f"exclude {name}" for name in _EXCLUDES[group]]
    cached = _read_manifest(target, coordinates)
    if cached is not None:
        return cached
    if not quiet:
        print(f"Resolving {group} jars from Maven (first run only): {', '.join(coordinates)}")
    (RUNTIME_DIR / "ivy").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{group}-", dir=RUNTIME_DIR / "ivy") as scratch:
        retrieved = _ivy_retrieve(group, _PACKAGES[group], _EXCLUDES[group], Path(scratch))
        if group == "spark":
            retrieved = {a: p for a, p in retrieved.items() if not _shipped_by_pyspark(a)}
        if verify:
            verify_jars(group, list(retrieved.values()))
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in retrieved.values():
            shutil.copy2(path, target / path.name)
    jars = sorted(target / path.name for path in retrieved.values())
    lines = [f"# {c}" for c in coordinates] + [jar.name for jar in jars]
    (target / _MANIFEST).write_text("\n".join(lines) + "\n")
    return jars


def _read_manifest(target: Path, coordinates: list[str]) -> list[Path] | None:
    manifest = target / _MANIFEST
    if not manifest.exists():
        return None
    lines = manifest.read_text().splitlines()
    if [line[2:] for line in lines if line.startswith("# ")] != coordinates:
        return None
    jars = [target / line for line in lines if line and not line.startswith("# ")]
    return jars if jars and all(jar.exists() for jar in jars) else None


def _shipped_by_pyspark(artifact: str) -> bool:
    """True when pyspark's own jars already contain ``artifact`` (in any version)."""
    pattern = re.compile(rf"^{re.escape(artifact)}-\d.*\.jar$")
    return any(pattern.match(jar.name) for jar in pyspark_jars_dir().iterdir())


def sha256(path: Path) -> str:
    """The SHA-256 of a file, as hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pinned_checksums() -> dict[str, str]:
    """``{"<group>/<jar file>": sha256}`` from :data:`CHECKSUMS`."""
    pins = {}
    for line in CHECKSUMS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            pins[name] = digest
    return pins


def verify_jars(group: JarGroup, jars: list[Path]) -> None:
    """A one-line :class:`LabError` unless every jar's SHA-256 equals its pin."""
    pins = pinned_checksums()
    for jar in jars:
        pinned = pins.get(f"{group}/{jar.name}")
        if pinned is None:
            raise LabError(
                f"{jar.name} ({group} jars) has no pinned checksum in {CHECKSUMS.name}: after "
                "reviewing the change of pins, run `python -m labsupport setup --lock`."
            )
        if sha256(jar) != pinned:
            raise LabError(
                f"{jar.name} ({group} jars) does not match its pinned SHA-256: the repository "
                "served a different file. Check LAB_MAVEN_REPO, then "
                "`rm -rf .lab/ivy/cache .lab/jars && make setup`."
            )


def write_checksums() -> Path:
    """Pin the SHA-256 of every jar now in the cache (after a reviewed change of the pins)."""
    lines = ["# SHA-256 of every jar the lab resolves (labsupport.jars checks each download)."]
    for group in ("spark", "broker"):
        for jar in ensure_jars(group, quiet=True, verify=False):  # type: ignore[arg-type]
            lines.append(f"{sha256(jar)}  {group}/{jar.name}")
    CHECKSUMS.write_text("\n".join(lines) + "\n")
    return CHECKSUMS


def _ivy_module(coordinates: list[str], excludes: Sequence[str] = ()) -> str:
    dependencies = []
    for coordinate in coordinates:
        org, name, rev = coordinate.split(":")
        dependencies.append(
            f'    <dependency org="{org}" name="{name}" rev="{rev}" conf="default->default"/>'
        )
    for excluded in excludes:
        org, name = excluded.split(":")
        dependencies.append(f'    <exclude org="{org}" module="{name}"/>')
    return (
        '<ivy-module version="2.0">\n  <info organisation="streaming-lab" module="deps"/>\n'
        "  <dependencies>\n" + "\n".join(dependencies) + "\n  </dependencies>\n</ivy-module>\n"
    )


def _ivy_settings(repository: str) -> str:
    return (
        '<ivysettings>\n  <settings defaultResolver="mirror"/>\n  <resolvers>\n'
        f'    <ibiblio name="mirror" m2compatible="true" root="{repository}"/>\n'
        "  </resolvers>\n</ivysettings>\n"
    )


def _ivy_retrieve(
    group: str, coordinates: list[str], excludes: list[str], into: Path
) -> dict[str, Path]:
    """Run Ivy, retrieving into ``into``; return ``{artifact name: jar path}``."""
    java = require_java()
    ivy_jars = sorted(pyspark_jars_dir().glob("ivy-*.jar"))
    if not ivy_jars:
        raise LabError("pyspark ships no Ivy jar: reinstall it with `make setup`.")
    work = RUNTIME_DIR / "ivy"
    module = work / f"{group}.xml"
    module.write_text(_ivy_module(coordinates, excludes))
    log = work / f"{group}.log"
    command = [
        java,
        "-jar",
        str(ivy_jars[-1]),
        "-cache",
        str(work / "cache"),
        "-ivy",
        str(module),
        "-confs",
        "default",
        "-retrieve",
        f"{into}/[artifact]/[artifact]-[revision](-[classifier]).[ext]",
    ]
    repository = os.environ.get("LAB_MAVEN_REPO")
    if repository:
        settings = work / "ivysettings.xml"
        settings.write_text(_ivy_settings(repository))
        command[3:3] = ["-settings", str(settings)]
    with log.open("w") as out:
        try:
            result = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=RESOLVE_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise LabError(
                f"Downloading the {group} jars took over {RESOLVE_TIMEOUT} s (see {log}): check the "
                "network or set LAB_MAVEN_REPO to a closer mirror, then run `make setup` again."
            ) from None
    jars = {path.parent.name: path for path in into.glob("*/*.jar")}
    if result.returncode != 0 or not jars:
        raise LabError(
            f"Could not download the {group} jars ({', '.join(coordinates)}); see {log}. "
            "Check the network (Maven Central) or set LAB_MAVEN_REPO to a mirror, then run `make setup`."
        )
    return jars
