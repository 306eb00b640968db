"""The wheels of a workshop bundle: every package the lab installs, for every laptop it serves.

pip downloads wheels for another laptop with ``--platform`` and ``--python-version``, but it
evaluates environment markers for the machine it runs on (pip issue 11664): ipykernel's
``appnope; platform_system == "Darwin"`` would be missing from a bundle built on Linux, and
jupyter_server's ``overrides; python_version < "3.12"`` from one built with Python 3.12. So after
pip's download, :func:`missing_requirements` walks each target's dependency closure itself,
evaluating every marker for the *target*, and :func:`download_wheels` fetches what pip left out.

Build time only (it needs ``packaging``, which the lab's install brings); unpacking a bundle
uses :mod:`labsupport.bundle` alone.

>>> environment = marker_environment("macos-arm64", "3.12")
>>> environment["sys_platform"], environment["platform_machine"], environment["python_version"]
('darwin', 'arm64', '3.12')
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from packaging import tags
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from labsupport.errors import LabError

__all__ = ["download_wheels", "marker_environment", "missing_requirements", "target_platforms"]

#: The oldest laptops a bundle serves: macOS 13, and glibc 2.17 (what pip accepts; pyarrow's
#: own wheels want 2.28: Ubuntu 20.04+, Debian 10+, RHEL 8+).
MACOS = (13, 0)
GLIBC_MINORS = range(28, 16, -1)


def _system_and_arch(platform: str) -> tuple[str, str]:
    system, arch = platform.split("-", 1)
    return system, arch


def target_platforms(platform: str) -> list[str]:
    """Every wheel platform tag a laptop of ``platform`` (``linux-x86_64``) accepts, best first."""
    system, arch = _system_and_arch(platform)
    if system == "macos":
        return list(tags.mac_platforms(MACOS, arch))
    legacy = [f"manylinux2014_{arch}"] + (
        [f"manylinux2010_{arch}", f"manylinux1_{arch}"] if arch == "x86_64" else []
    )
    return [f"manylinux_2_{minor}_{arch}" for minor in GLIBC_MINORS] + legacy


def marker_environment(platform: str, python: str) -> dict[str, str]:
    """The values PEP 508 markers see on a laptop of ``platform`` running CPython ``python``."""
    system, arch = _system_and_arch(platform)
    return {
        "implementation_name": "cpython",
        "os_name": "posix",
        "platform_machine": arch,
        "platform_python_implementation": "CPython",
        "platform_system": "Darwin" if system == "macos" else "Linux",
        "python_full_version": f"{python}.0",
        "python_version": python,
        "sys_platform": "darwin" if system == "macos" else "linux",
        "implementation_version": f"{python}.0",
    }


def _supported_tags(platform: str, python: str) -> set[tags.Tag]:
    version = tuple(int(part) for part in python.split("."))
    platforms = target_platforms(platform)
    return set(tags.cpython_tags(version, platforms=platforms)) | set(
        tags.compatible_tags(version, f"cp{version[0]}{version[1]}", platforms)
    )


def _requires(wheel: Path) -> list[str]:
    """A wheel's ``Requires-Dist`` lines (from its METADATA)."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.BytesParser().parsebytes(archive.read(name), headersonly=True)
    return metadata.get_all("Requires-Dist") or []


def missing_requirements(
    folder: Path, platform: str, python: str, roots: Sequence[str]
) -> list[Requirement]:
    """What a laptop of ``platform`` with ``python`` needs and ``folder`` has no wheel for.

    Starts from ``roots`` (the lab's requirements) and follows each chosen wheel's
    ``Requires-Dist``, markers evaluated for the target, extras included; like pip, it takes
    the newest wheel that fits.
    """
    supported = _supported_tags(platform, python)
    wheels: dict[str, list[tuple[Version, Path]]] = {}
    for path in folder.glob("*.whl"):
        name, version, _, wheel_tags = parse_wheel_filename(path.name)
        if wheel_tags & supported:
            wheels.setdefault(name, []).append((version, path))
    environment = marker_environment(platform, python)
    missing: list[Requirement] = []
    followed: set[tuple[str, str]] = set()
    queue = [(Requirement(line), "") for line in roots]
    while queue:
        requirement, extra = queue.pop()
        if requirement.marker and not requirement.marker.evaluate({**environment, "extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        fits = [
            (version, path)
            for version, path in wheels.get(name, [])
            if requirement.specifier.contains(version, prereleases=True)
        ]
        if not fits:
            missing.append(requirement)
            continue
        chosen = max(fits)[1]
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) not in followed:
                followed.add((name, wanted))
                queue += [(Requirement(line), wanted) for line in _requires(chosen)]
    return missing


def _pip(what: str, *args: str) -> None:
    """Run this interpreter's pip; a failure is one line naming ``what`` it was fetching."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise LabError(
            f"pip could not fetch {what} ({last}): check the network, or leave that platform or "
            "Python out (BUNDLE_PLATFORMS, BUNDLE_PYTHONS)."
        )


def download_wheels(
    into: Path, platforms: Sequence[str], pythons: Sequence[str], roots: Sequence[str]
) -> None:
    """Every wheel each (platform, Python) needs for ``roots``, into ``into``.

    Packages published only as source (pyspark) are built here first, into wheels that are pure
    Python and so serve every laptop; every other wheel is downloaded for its target's tags.
    """
    with tempfile.TemporaryDirectory(prefix="wheels-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        requirements.write_text("\n".join(roots) + "\n")
        built = Path(scratch) / "built"
        _pip("the lab's requirements", "wheel", "--wheel-dir", str(built), "-r", str(requirements))
        for pure in built.glob("*-none-any.whl"):
            shutil.copy2(pure, into / pure.name)
        for platform in platforms:
            for python in pythons:
                target = [
                    *(arg for tag in target_platforms(platform) for arg in ("--platform", tag)),
                    *("--python-version", python, "--implementation", "cp"),
                    *("--only-binary=:all:", "--find-links", str(into), "--dest", str(into)),
                ]
                what = f"the wheels for {platform} with Python {python}"
                _pip(what, "download", *target, "-r", str(requirements))
                for _ in range(10):  # each round may reveal the dependencies of what it fetched
                    missing = missing_requirements(into, platform, python, roots)
                    if not missing:
                        break
                    wanted = [f"{r.name}{r.specifier}" for r in missing]
                    _pip(f"{', '.join(wanted)} for {platform} with Python {python}",
                         "download", "--no-deps", *target, *wanted)  # fmt: skip
                else:
                    raise LabError(f"{what}: {', '.join(map(str, missing))} still missing.")
