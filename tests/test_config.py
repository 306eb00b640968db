"""Settings from the environment, SASL handled as the design says, clear setup errors."""

from __future__ import annotations

import pytest

from labsupport.config import KAFKA_FETCH_MAX_WAIT_MS, KafkaSettings
from labsupport.errors import LabError
from labsupport.java import java_executable, require_java
from labsupport.versions import (
    KAFKA_VERSION,
    SPARK_PACKAGES,
    check_installed,
    pinned_python_packages,
)


def test_embedded_broker_is_the_default(monkeypatch):
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SASL_USERNAME", "KAFKA_SECURITY_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    settings = KafkaSettings.from_env()
    assert settings.client_config() == {"bootstrap.servers": "127.0.0.1:9092"}
    assert settings.spark_options() == {
        "kafka.bootstrap.servers": "127.0.0.1:9092",
        "kafka.fetch.max.wait.ms": str(KAFKA_FETCH_MAX_WAIT_MS),
    }
    assert KafkaSettings.external_cluster_configured() is False


def test_sasl_credentials_come_from_the_environment_and_are_never_printed(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "pkc-xxxx.example.cloud:9092")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "api-key")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    monkeypatch.delenv("KAFKA_SASL_MECHANISM", raising=False)
    settings = KafkaSettings.from_env()

    assert settings.client_config() == {
        "bootstrap.servers": "pkc-xxxx.example.cloud:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "api-key",
        "sasl.password": "s3cret",
    }
    options = settings.spark_options()
    assert options["kafka.security.protocol"] == "SASL_SSL"
    assert options["kafka.sasl.jaas.config"] == (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="api-key" password="s3cret";'
    )
    assert "s3cret" not in repr(settings)
    assert KafkaSettings.external_cluster_configured() is True


def test_unknown_sasl_mechanism_is_a_clear_error(monkeypatch):
    settings = KafkaSettings("h:9092", "SASL_SSL", "GSSAPI", "user", "pw")
    with pytest.raises(LabError, match="KAFKA_SASL_MECHANISM=GSSAPI is not supported"):
        settings.spark_options()


def test_missing_java_home_is_a_one_line_error(monkeypatch, tmp_path):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(LabError, match="has no bin/java"):
        java_executable()


def test_old_java_is_refused_with_the_fix(monkeypatch, tmp_path):
    fake_home = tmp_path / "jdk11"
    (fake_home / "bin").mkdir(parents=True)
    java = fake_home / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(fake_home))
    with pytest.raises(LabError, match=r"Java 11 found .* need Java 17\+"):
        require_java()


def test_versions_live_in_one_place_and_match_what_is_installed():
    pins = pinned_python_packages()
    check_installed()  # pyspark and delta-spark as pinned
    spark_minor = ".".join(pins["pyspark"].split(".")[:2])
    connector, delta = SPARK_PACKAGES
    assert connector.endswith(f":{pins['pyspark']}"), "the Kafka connector must match pyspark"
    assert delta == f"io.delta:delta-spark_{spark_minor}_2.13:{pins['delta-spark']}"
    assert KAFKA_VERSION.startswith("4.")


def test_every_spark_logger_the_lab_quiets_names_a_class_of_the_installed_spark():
    """Spark moves classes between packages (4.x: streaming's into ``streaming.runtime``); a
    logger setting that names a class no longer there silently stops quieting it. (The Kafka
    connector's classes are in the lab's jars, beside pyspark's.)"""
    import re
    import zipfile
    from importlib import resources
    from pathlib import Path

    import pyspark

    from labsupport.jars import ensure_jars

    config = (resources.files("labsupport") / "resources" / "log4j2-spark.properties").read_text()
    names = re.findall(r"^logger\.\w+\.name = (org\.apache\.spark\.\S+)$", config, re.MULTILINE)
    assert names, "the lab quiets some of Spark's loggers"
    classes: set[str] = set()
    jars = [*(Path(pyspark.__file__).parent / "jars").glob("spark-*.jar"), *ensure_jars("spark")]
    for jar in jars:
        with zipfile.ZipFile(jar) as archive:
            classes.update(
                entry[: -len(".class")].replace("/", ".")
                for entry in archive.namelist()
                if entry.endswith(".class")
            )
    missing = [name for name in names if name not in classes]
    assert missing == [], f"no such class in the installed Spark: {missing}"
