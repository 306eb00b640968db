"""The JVM jars: every one pinned by SHA-256, and the broker's classpath free of the advised versions."""

from __future__ import annotations

import re
import shutil
import zipfile

import pytest

from labsupport.errors import LabError
from labsupport.jars import CHECKSUMS, ensure_jars, pinned_checksums, verify_jars
from labsupport.versions import BROKER_PACKAGES


@pytest.mark.parametrize("group", ["spark", "broker"])
def test_every_resolved_jar_matches_its_pin_and_every_pin_names_a_jar(group):
    jars = ensure_jars(group)
    verify_jars(group, jars)  # raises on a jar that differs or is not pinned
    pinned = {name.split("/", 1)[1] for name in pinned_checksums() if name.startswith(f"{group}/")}
    assert pinned == {jar.name for jar in jars}, "jars.sha256 pins exactly what is resolved"


def _version(jars, artifact: str) -> tuple[int, ...]:
    found = [jar.name for jar in jars if re.fullmatch(rf"{artifact}-[\d.]+\.jar", jar.name)]
    assert len(found) == 1, f"one {artifact} on the classpath, not {found}"
    return tuple(int(part) for part in found[0][len(artifact) + 1 : -4].split("."))


def test_the_brokers_classpath_carries_the_fixed_versions_only():
    jars = ensure_jars("broker")
    assert _version(jars, "commons-beanutils") >= (1, 11, 0)  # CVE-2025-48734 fixed
    assert _version(jars, "lz4-java") >= (1, 10, 1)  # CVE-2025-12183 and CVE-2025-66566 fixed
    lz4 = next(jar for jar in jars if jar.name.startswith("lz4-java"))
    with zipfile.ZipFile(lz4) as archive:  # the fork keeps Kafka's classes where Kafka looks
        assert "net/jpountz/lz4/LZ4Factory.class" in archive.namelist()
    assert any(p.startswith("at.yawk.lz4:lz4-java:") for p in BROKER_PACKAGES)


def test_a_tampered_or_unpinned_jar_is_refused_in_one_line(tmp_path):
    original = ensure_jars("broker")[0]
    tampered = tmp_path / original.name
    shutil.copy(original, tampered)
    with tampered.open("ab") as jar:
        jar.write(b"\0")
    with pytest.raises(LabError, match="does not match its pinned SHA-256") as failure:
        verify_jars("broker", [tampered])
    assert "\n" not in str(failure.value)
    stranger = tmp_path / "evil-1.0.jar"
    stranger.write_bytes(b"PK")
    with pytest.raises(LabError, match=f"no pinned checksum in {CHECKSUMS.name}"):
        verify_jars("broker", [stranger])
