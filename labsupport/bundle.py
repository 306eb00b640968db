"""The offline workshop bundle: every wheel and jar a fresh laptop needs, in one checked archive.

A room on venue Wi-Fi should not download a gigabyte per seat. ``make bundle`` (on a machine with
the network) writes ``dist/workshop-bundle.tar.gz``::

    bundle.json   what it was built for: platforms, Python versions, the pyproject it pins
    SHA256SUMS    the SHA-256 of every other file
    wheels/       the lab's Python packages, extras included, for each platform and Python
    jars/spark/   Spark's Kafka connector and Delta, as .lab/jars holds them (manifest included)
    jars/broker/  the Kafka broker's jars

and ``make setup BUNDLE=dist/workshop-bundle.tar.gz`` installs from it with no network: this module
unpacks it (:func:`unpack_bundle`: every file checked against ``SHA256SUMS``, the laptop's Python
and platform against ``bundle.json``), then pip installs with ``--no-index --find-links`` and
``python -m labsupport setup`` checks every jar against the lab's own pins.

Unpacking runs on the laptop's bare Python, before ``.venv`` holds anything, so this module
uses the standard library only (building imports the jar resolver, in ``.venv``).

>>> sorted(PLATFORMS)
['linux-aarch64', 'linux-x86_64', 'macos-arm64', 'macos-x86_64']
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from labsupport.config import PROJECT_ROOT, RUNTIME_DIR
from labsupport.errors import LabError

__all__ = [
    "DEFAULT_ARCHIVE",
    "PLATFORMS",
    "build_bundle",
    "this_platform",
    "unpack_bundle",
]

#: The laptops a bundle can serve (the wheel tags each accepts: :mod:`labsupport.bundle_wheels`).
#: Windows laptops work in WSL2, which is Linux.
PLATFORMS = ("linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64")
#: The Pythons a bundle serves unless told otherwise (the Makefile's BUNDLE_PYTHONS says the same).
PYTHONS = ("3.11", "3.12")
DEFAULT_ARCHIVE = PROJECT_ROOT / "dist" / "workshop-bundle.tar.gz"
_SUMS = "SHA256SUMS"
_INFO = "bundle.json"
_JAR_GROUPS = ("spark", "broker")


def this_platform() -> str:
    """This machine as a key of :data:`PLATFORMS` (``linux-x86_64``), or a one-line error."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower())
    machine = machine or platform.machine().lower()
    if sys.platform == "darwin":
        key = f"macos-{'arm64' if machine == 'aarch64' else machine}"
    elif sys.platform.startswith("linux"):
        key = f"linux-{machine}"
    else:
        key = f"{sys.platform}-{machine}"
    if key not in PLATFORMS:
        raise LabError(
            f"A workshop bundle serves {', '.join(PLATFORMS)}; this machine is {key} "
            "(on Windows, work in WSL2: it is Linux)."
        )
    return key


def _python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _requirements() -> list[str]:
    """Everything pip installs for the lab: its dependencies, every extra, its build backend."""
    from labsupport.versions import pyproject

    project = pyproject()
    lines = list(project["project"]["dependencies"])
    for extra in project["project"].get("optional-dependencies", {}).values():
        lines += [line for line in extra if line not in lines]
    return lines + list(project["build-system"]["requires"])


def _copy_jars(into: Path) -> int:
    """The resolved jars, as ``.lab/jars`` holds them (resolved first if need be)."""
    from labsupport.jars import ensure_jars, jars_dir

    count = 0
    for group in _JAR_GROUPS:
        count += len(ensure_jars(group))  # type: ignore[arg-type]
        shutil.copytree(jars_dir(group), into / group)  # type: ignore[arg-type]
    return count


def build_bundle(
    archive: Path = DEFAULT_ARCHIVE,
    platforms: Sequence[str] = tuple(PLATFORMS),
    pythons: Sequence[str] = PYTHONS,
) -> Path:
    """Write the bundle for ``platforms`` and ``pythons`` to ``archive``; return its path.

    Beside it, ``<archive>.sha256`` holds the archive's own digest, for the instructor to
    publish: :func:`unpack_bundle` checks it when the file is there.
    """
    unknown = [key for key in platforms if key not in PLATFORMS]
    if unknown or not platforms or not pythons:
        raise LabError(
            f"platforms must be some of {', '.join(PLATFORMS)}; not {unknown or 'none'}."
        )
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bundle-", dir=archive.parent) as scratch:
        stage = Path(scratch) / "stage"
        (stage / "wheels").mkdir(parents=True)
        from labsupport.bundle_wheels import download_wheels

        download_wheels(stage / "wheels", platforms, pythons, _requirements())
        jars = _copy_jars(stage / "jars")
        info = {
            "platforms": list(platforms),
            "pythons": list(pythons),
            "pyproject_sha256": _sha256(PROJECT_ROOT / "pyproject.toml"),
            "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "wheels": len(list((stage / "wheels").glob("*.whl"))),
            "jars": jars,
        }
        (stage / _INFO).write_text(json.dumps(info, indent=1) + "\n")
        files = sorted(p for p in stage.rglob("*") if p.is_file())
        sums = "".join(f"{_sha256(p)}  {p.relative_to(stage).as_posix()}\n" for p in files)
        (stage / _SUMS).write_text(sums)
        partial = Path(scratch) / archive.name
        # level 1: wheels and jars are zip files already; more effort would only cost minutes
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            for path in sorted(stage.iterdir()):
                tar.add(path, arcname=path.name)
        partial.replace(archive)
    Path(f"{archive}.sha256").write_text(f"{_sha256(archive)}  {archive.name}\n")
    return archive


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Every member, refusing links and paths that would land outside the folder."""
    members = tar.getmembers()
    for member in members:
        path = Path(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise LabError(f"The bundle holds {member.name!r}, which no bundle holds: rebuild it.")
    return members


def _check_archive_digest(archive: Path) -> None:
    sidecar = Path(f"{archive}.sha256")
    if sidecar.exists() and sidecar.read_text().split()[:1] != [_sha256(archive)]:
        raise LabError(
            f"{archive} does not match {sidecar.name}: the copy is damaged; copy it again."
        )


def _check_fits_this_laptop(info: dict) -> None:
    here, version = this_platform(), _python_version()
    if here not in info["platforms"] or version not in info["pythons"]:
        raise LabError(
            f"This bundle serves {', '.join(info['platforms'])} with Python "
            f"{', '.join(info['pythons'])}; this laptop's .venv is {here} with Python {version}: "
            f"install one of those Pythons, then `rm -rf .venv && make setup "
            f"PYTHON=python{info['pythons'][0]} BUNDLE=...` (or ask for a bundle built for it)."
        )
    if info["pyproject_sha256"] != _sha256(PROJECT_ROOT / "pyproject.toml"):
        raise LabError(
            "This bundle was built for another version of the lab (its pyproject.toml differs): "
            "check out the lab's version the bundle came with, or rebuild it with `make bundle`."
        )


def _verify_sums(folder: Path) -> int:
    listed = {}
    for line in (folder / _SUMS).read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name] = digest
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    present.discard(_SUMS)
    for name in sorted(present | set(listed)):
        if name not in listed or name not in present or _sha256(folder / name) != listed[name]:
            raise LabError(
                f"{name} in the bundle does not match its SHA256SUMS line: the bundle is "
                "damaged or was changed; copy it again (or rebuild it with `make bundle`)."
            )
    return len(listed)


def unpack_bundle(
    archive: Path, into: Path = RUNTIME_DIR / "bundle", jars_into: Path = RUNTIME_DIR / "jars"
) -> dict:
    """Check and unpack ``archive``: wheels into ``into/wheels``, jars into ``jars_into``.

    Returns the bundle's ``bundle.json``. Nothing is installed if a check fails.
    """
    if not archive.is_file():
        raise LabError(f"No bundle at {archive}: copy the workshop bundle there, or fix BUNDLE=.")
    _check_archive_digest(archive)
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = _safe_members(tar)
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+, 3.11.4+: refuse what is odd
                tar.extractall(into, members=members, filter="data")
            else:
                tar.extractall(into, members=members)  # members checked above
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise LabError(f"{archive} is not a readable bundle ({error}): copy it again.") from None
    if not (into / _INFO).is_file() or not (into / _SUMS).is_file():
        raise LabError(f"{archive} has no {_INFO} or {_SUMS}: it is not a workshop bundle.")
    try:
        files = _verify_sums(into)  # bundle.json included: read only once it is checked
        info = json.loads((into / _INFO).read_text())
        _check_fits_this_laptop(info)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise LabError(
            f"{archive} has a malformed {_INFO} or {_SUMS} ({error}): rebuild it."
        ) from None
    for group in _JAR_GROUPS:
        target = jars_into / group
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(into / "jars" / group, target)
    print(
        f"Bundle checked ({files} files match SHA256SUMS): {info['wheels']} wheels, "
        f"{info['jars']} jars, built {info['built']}."
    )
    return info


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m labsupport.bundle build|unpack`` (what ``make bundle`` and ``make setup BUNDLE=`` run)."""
    parser = argparse.ArgumentParser(
        prog="python -m labsupport.bundle",
        description="Build or unpack the offline workshop bundle.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="write the bundle (needs the network)")
    build.add_argument("--out", type=Path, default=DEFAULT_ARCHIVE)
    build.add_argument("--platforms", default=" ".join(PLATFORMS), help="'here' or names")
    build.add_argument("--pythons", default=" ".join(PYTHONS), help="'here' or versions")
    unpack = commands.add_parser("unpack", help="check and unpack a bundle (no network)")
    unpack.add_argument("archive", type=Path)
    unpack.add_argument("--into", type=Path, default=RUNTIME_DIR / "bundle")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            platforms = [this_platform() if p == "here" else p for p in args.platforms.split()]
            pythons = [_python_version() if v == "here" else v for v in args.pythons.split()]
            started = datetime.now(timezone.utc)
            archive = build_bundle(args.out, platforms, pythons)
            seconds = (datetime.now(timezone.utc) - started).total_seconds()
            print(
                f"Wrote {archive} ({archive.stat().st_size / 1024**2:.0f} MB, {seconds:.0f} s) "
                f"for {', '.join(platforms)} with Python {', '.join(pythons)}; its SHA-256 is "
                f"in {archive.name}.sha256. Install with `make setup BUNDLE={archive}`."
            )
        else:
            unpack_bundle(args.archive, args.into)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
