"""The offline workshop bundle: its checks refuse a damaged or foreign bundle in one line, and a
real one installs a fresh copy of the lab with no network at all.

The fast tests unpack small hand-made archives. The slow one builds a real bundle for this
machine (``--platforms here --pythons here``), then, inside a network namespace with no network
(``unshare -n``: only a loopback interface), installs a fresh copy of the lab from it with
``make setup BUNDLE=...``, runs the quick tier and a short ``make run`` there.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from labsupport.bundle import _python_version, this_platform, unpack_bundle
from labsupport.bundle_wheels import missing_requirements, target_platforms
from labsupport.config import PROJECT_ROOT
from labsupport.errors import LabError


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _make_archive(path: Path, files: dict[str, bytes], **info: object) -> Path:
    """A bundle-shaped archive: ``files`` plus SHA256SUMS and a bundle.json for this laptop."""
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_bytes()
    meta = {
        "platforms": [this_platform()],
        "pythons": [_python_version()],
        "pyproject_sha256": _digest(pyproject),
        "built": "2026-12-03T00:00:00+00:00",
        "wheels": 1,
        "jars": 2,
        **info,
    }
    files = {**files, "bundle.json": json.dumps(meta).encode()}
    sums = "".join(f"{_digest(data)}  {name}\n" for name, data in sorted(files.items()))
    contents = {**files, "SHA256SUMS": sums.encode()}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in contents.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return path


FILES = {
    "wheels/example-1.0-py3-none-any.whl": b"a wheel",
    "jars/spark/resolved.txt": b"# x\nconnector.jar\n",
    "jars/spark/connector.jar": b"spark jar",
    "jars/broker/resolved.txt": b"# y\nkafka.jar\n",
    "jars/broker/kafka.jar": b"broker jar",
}


def test_a_checked_bundle_unpacks_its_wheels_and_places_its_jars(tmp_path, capsys):
    archive = _make_archive(tmp_path / "b.tar.gz", FILES)
    info = unpack_bundle(archive, tmp_path / "bundle", tmp_path / "jars")
    assert info["pythons"] == [_python_version()]
    assert (tmp_path / "bundle/wheels/example-1.0-py3-none-any.whl").read_bytes() == b"a wheel"
    assert (tmp_path / "jars/broker/kafka.jar").read_bytes() == b"broker jar"
    assert "Bundle checked (6 files match SHA256SUMS)" in capsys.readouterr().out


def _refusal(archive: Path, tmp_path: Path) -> str:
    with pytest.raises(LabError) as refused:
        unpack_bundle(archive, tmp_path / "bundle", tmp_path / "jars")
    message = str(refused.value)
    assert "\n" not in message
    assert not (tmp_path / "jars").exists(), "a refused bundle installed jars"
    return message


def test_a_changed_file_is_refused(tmp_path):
    archive = _make_archive(tmp_path / "b.tar.gz", FILES)
    with tarfile.open(archive) as tar:  # rebuild with one jar changed, SHA256SUMS kept
        contents = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    contents["jars/spark/connector.jar"] = b"another jar"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in contents.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    assert "jars/spark/connector.jar in the bundle does not match" in _refusal(archive, tmp_path)


def test_a_damaged_archive_is_refused_against_its_published_digest(tmp_path):
    archive = _make_archive(tmp_path / "b.tar.gz", FILES)
    Path(f"{archive}.sha256").write_text(f"{'0' * 64}  b.tar.gz\n")
    assert "the copy is damaged" in _refusal(archive, tmp_path)


def test_a_bundle_for_another_python_or_lab_is_refused(tmp_path):
    other = _make_archive(tmp_path / "p.tar.gz", FILES, pythons=["3.99"])
    assert "Python 3.99" in _refusal(other, tmp_path)
    older = _make_archive(tmp_path / "o.tar.gz", FILES, pyproject_sha256="0" * 64)
    assert "another version of the lab" in _refusal(older, tmp_path)


def test_a_path_outside_the_folder_is_refused(tmp_path):
    archive = _make_archive(tmp_path / "b.tar.gz", {**FILES, "../escape.txt": b"x"})
    assert "'../escape.txt'" in _refusal(archive, tmp_path)
    assert not (tmp_path / "escape.txt").exists()


def test_no_bundle_there_is_one_line(tmp_path):
    assert "No bundle at" in _refusal(tmp_path / "missing.tar.gz", tmp_path)


# --- The real thing: build, then install with no network ------------------------------------------
def _no_network_namespace() -> str | None:
    """Why a network namespace cannot be made here, or None when it can."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare and ip (util-linux, iproute2)"
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return None if probe.returncode == 0 else "unshare -n is not allowed here (needs root)"


def _copy_of_the_lab(into: Path) -> Path:
    """The lab's files as a fresh clone of this working tree would hold them (untracked new
    files included, ignored ones — .venv, .lab, tables — not)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = PROJECT_ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(_no_network_namespace() is not None, reason=str(_no_network_namespace()))
def test_a_fresh_copy_installs_from_the_bundle_and_runs_with_no_network(tmp_path, record_property):
    archive = tmp_path / "dist" / "workshop-bundle.tar.gz"
    built = subprocess.run(
        [sys.executable, "-m", "labsupport.bundle", "build", "--platforms", "here",
         "--pythons", "here", "--out", str(archive)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    size_mb = archive.stat().st_size / 1024**2
    record_property("bundle", f"bundle: one platform and one Python, {size_mb:.0f} MB")

    lab = _copy_of_the_lab(tmp_path / "lab")
    python = getattr(sys, "_base_executable", sys.executable)  # a fresh venv from the real Python
    script = "trap 'make stop >/dev/null 2>&1' EXIT; " + " && ".join(
        (
            "ip link set lo up",  # a new namespace's loopback starts down; nothing else exists
            "! python3 -c 'import socket; socket.create_connection((\"pypi.org\", 443), 5)' 2>/dev/null",
            f"make setup BUNDLE={archive} PYTHON={python}",
            f"make test-quick BUNDLE={archive} PYTEST_ARGS='-q -p no:cacheprovider'",
            "make run DURATION=35 RATE=20",
        )
    )
    ours = ("KAFKA_", "LAB_", "PIP_", "MAKE", "MFLAGS")  # a learner's shell has none of these
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    started = time.monotonic()
    result = subprocess.run(
        ["unshare", "-n", "bash", "-c", script], cwd=lab, env=env,
        capture_output=True, text=True, timeout=840, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    record_property(
        "bundle",
        f"bundle: offline install + quick tier + make run: {time.monotonic() - started:.0f} s",
    )
    assert "Bundle checked" in output
    assert "each matching its pinned SHA-256" in output  # `labsupport setup` checked every jar
    summary = re.search(r"^(\d+) passed.* in [\d.]+s", output, re.MULTILINE)  # the quick tier's
    assert summary and int(summary.group(1)) > 100 and " failed," not in summary.group(0), output
    bronze = re.search(r"^Bronze: ([\d,]+) rows", output, re.MULTILINE)  # make run's final counts
    assert bronze and int(bronze.group(1).replace(",", "")) > 0, output[-3000:]


def test_a_malformed_manifest_is_one_line(tmp_path):
    archive = _make_archive(tmp_path / "b.tar.gz", FILES, platforms=None)
    assert "malformed bundle.json" in _refusal(archive, tmp_path)


def test_unpacking_needs_nothing_but_the_standard_library():
    """``make setup BUNDLE=`` unpacks with a Python whose .venv holds nothing yet."""
    result = subprocess.run(
        [sys.executable, "-S", "-m", "labsupport.bundle", "unpack", "--help"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "archive" in result.stdout


# --- Each laptop's dependencies, markers evaluated for that laptop ------------------------------
def _wheel(folder: Path, filename: str, *requires: str) -> None:
    """A wheel that holds only its METADATA (what the closure reads)."""
    name, version = filename.split("-")[:2]
    lines = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    with zipfile.ZipFile(folder / filename, "w") as wheel:
        wheel.writestr(f"{name}-{version}.dist-info/METADATA", "\n".join(lines) + "\n")


def test_each_laptop_gets_the_dependencies_its_own_markers_ask_for(tmp_path):
    _wheel(tmp_path, "ipykernel-7.4.0-py3-none-any.whl",
           "appnope>=0.1.2; platform_system == 'Darwin'", "comm>=0.1")  # fmt: skip
    _wheel(tmp_path, "comm-0.2.3-py3-none-any.whl")
    _wheel(
        tmp_path, "jupyter_server-2.21.1-py3-none-any.whl", "overrides>=5; python_version < '3.12'"
    )
    _wheel(tmp_path, "testcontainers-4.15.0-py3-none-any.whl", "docker; extra == 'kafka'")
    _wheel(tmp_path, "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl")
    roots = ["ipykernel==7.4.0", "jupyter-server", "testcontainers[kafka]==4.15.0", "numpy",
             "tomli>=2; python_version < '3.11'"]  # fmt: skip

    def missing(platform: str, python: str) -> list[str]:
        return sorted(r.name for r in missing_requirements(tmp_path, platform, python, roots))

    assert missing("linux-x86_64", "3.11") == ["docker", "overrides"]
    assert missing("linux-x86_64", "3.12") == ["docker", "numpy"]  # numpy: a cp311 wheel only
    assert missing("macos-arm64", "3.12") == ["appnope", "docker", "numpy"]
    assert missing("linux-aarch64", "3.10") == ["docker", "numpy", "overrides", "tomli"]


def test_a_laptop_takes_wheels_for_its_oldest_supported_system():
    mac = target_platforms("macos-arm64")
    assert "macosx_13_0_arm64" in mac and "macosx_11_0_arm64" in mac
    assert not any(tag.startswith("macosx_14") for tag in mac)
    linux = target_platforms("linux-aarch64")
    assert "manylinux_2_17_aarch64" in linux and "manylinux_2_28_aarch64" in linux
    assert not any("x86_64" in tag or tag.startswith("manylinux_2_31") for tag in linux)
