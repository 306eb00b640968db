"""SASL against a real SASL broker: the embedded broker's ``--sasl`` mode, a hard password.

The broker is started as a learner starts it (``broker start --sasl`` with the two
``KAFKA_SASL_*`` variables), on free ports in a temporary folder. Then the producer, the
notebooks' ``lesson.kafka`` and the pipeline (Bronze, quarantine and Gold) log in with PLAIN and
with SCRAM-SHA-512; a wrong password is a one-line error within 30 s; and the password appears in
no output, log file, progress report or exception text.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from labsupport import broker as broker_module
from labsupport import config
from labsupport.broker import EmbeddedBroker
from labsupport.broker_login import SaslUser
from labsupport.config import KafkaSettings, LabPaths, jaas_config, mask_secrets
from labsupport.errors import LabError
from labsupport.lesson import Lesson
from labsupport.net import free_port, port_open
from labsupport.runner import run_available_now
from labsupport.topics import delete_topic, ensure_topic, list_cluster_topics, topic_end_offsets
from tests.commands import LABSUPPORT, PRODUCER, refusal, run

pytestmark = [pytest.mark.kafka, pytest.mark.xdist_group("sasl")]

USER = "lab-learner"
#: a quote, a backslash, spaces, non-ASCII, and the characters JAAS and SCRAM use as syntax
PASSWORD = 'p"a\\ss wörd ✓ ;=,'
WRONG = PASSWORD + "x"


def login_env(bootstrap: str, mechanism: str = "PLAIN", password: str = PASSWORD) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": mechanism,
        "KAFKA_SASL_USERNAME": USER,
        "KAFKA_SASL_PASSWORD": password,
    }


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (PASSWORD, "wörd", 'p"a'):
            assert secret not in text, f"the password leaked into: {text[:300]}"


def _two_free_ports() -> int:
    """A free port whose next port is free too (the broker's controller takes port + 1)."""
    while True:
        port = free_port()
        if not port_open("127.0.0.1", port + 1):
            return port


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """``broker start --sasl`` as a learner runs it, in-process so its home can be a temp folder."""
    from labsupport.cli import main

    home = tmp_path_factory.mktemp("sasl-broker")
    port = _two_free_ports()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(broker_module, "BROKER_HOME", home)
        patch.setenv("KAFKA_SASL_USERNAME", USER)
        patch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
        patch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
        assert main(["broker", "start", "--sasl", "--port", str(port)]) == 0
        # `make run` starts the broker again, without the flag: it finds the SASL broker
        patch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
        assert main(["broker", "start", "--port", str(port)]) == 0
    broker = EmbeddedBroker(port=port, home=home, sasl=SaslUser(USER, PASSWORD))
    try:
        yield broker
    finally:
        broker.stop()


def test_make_start_with_the_wrong_or_no_login_says_what_runs(sasl_broker, monkeypatch, capsys):
    """``make start`` after ``broker start --sasl``: it needs the login the broker was started with."""
    from labsupport.cli import main

    monkeypatch.setattr(broker_module, "BROKER_HOME", sasl_broker.home)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", sasl_broker.bootstrap_servers)
    monkeypatch.setenv("KAFKA_SASL_USERNAME", USER)
    start = ["broker", "start", "--port", str(sasl_broker.port)]
    for password, expected in (
        (WRONG, "runs with SASL and refused this login"),
        ("", "runs with SASL: export"),
    ):
        monkeypatch.setenv("KAFKA_SASL_PASSWORD", password)
        started = time.monotonic()
        assert main(start) == 1
        assert time.monotonic() - started < 10
        err = capsys.readouterr().err
        assert expected in err and len(err.strip().splitlines()) == 1, err
        assert_no_secret(err)
    assert sasl_broker.status().running, "a refused login leaves the broker as it was"


@pytest.fixture
def sasl_topic(sasl_broker: EmbeddedBroker) -> Iterator[str]:
    settings = sasl_broker.client_settings
    name = f"sasl-{time.monotonic_ns() % 10**9}"
    ensure_topic(settings, name)
    try:
        yield name
    finally:
        delete_topic(settings, name)


@pytest.mark.spark
@pytest.mark.parametrize(
    "password", [PASSWORD, "ends with a backslash \\", "two\nlines\r", '" user_x="injected', ""]
)
def test_kafkas_own_jaas_parser_reads_every_password_back_exactly(spark, password):
    """Spark's Kafka client parses ``sasl.jaas.config`` with ``JaasConfig``: ask it directly."""
    text = jaas_config("SCRAM-SHA-512", USER, password)
    parsed = spark._jvm.org.apache.kafka.common.security.JaasConfig("KafkaClient", text)
    entries = parsed.getAppConfigurationEntry("KafkaClient")
    assert len(entries) == 1
    options = dict(entries[0].getOptions())
    assert options == {"username": USER, "password": password}  # nothing injected


def test_status_says_sasl_and_the_listener_refuses_plaintext(sasl_broker):
    assert "SASL_PLAINTEXT: PLAIN and SCRAM-SHA-512" in str(sasl_broker.status())
    no_login = KafkaSettings(bootstrap_servers=sasl_broker.bootstrap_servers)
    with pytest.raises(LabError, match="did not answer within 3 s"):
        list_cluster_topics(no_login, timeout=3)


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_the_producer_logs_in_and_sends(sasl_broker, sasl_topic, mechanism):
    env = login_env(sasl_broker.bootstrap_servers, mechanism)
    result = run(PRODUCER, "--topic", sasl_topic, "--count", "40", "--rate", "400",
                 "--no-progress", **env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sum(topic_end_offsets(sasl_broker.client_settings, sasl_topic).values()) == 40
    assert_no_secret(result.stdout, result.stderr)


@pytest.mark.spark
@pytest.mark.slow
def test_a_lesson_and_the_whole_pipeline_run_over_scram(
    sasl_broker, spark, tmp_path, monkeypatch, capfd
):
    """``lesson.kafka`` comes from the environment; Bronze, quarantine and Gold read with SCRAM."""
    for key, value in login_env(sasl_broker.bootstrap_servers, "SCRAM-SHA-512").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LAB_LESSONS_DIR", str(tmp_path / "lessons"))
    lesson = Lesson("03", "SASL")
    assert lesson.kafka.sasl_mechanism == "SCRAM-SHA-512"
    lesson.ensure_broker()  # an external cluster: creates the lesson's topic over SASL
    try:
        result = run(PRODUCER, "--topic", lesson.topic, "--count", "60", "--rate", "600",
                     "--malformed-fraction", "0.2", "--seed", "5", "--no-progress")  # fmt: skip
        assert result.returncode == 0, result.stderr
        paths = LabPaths.under(tmp_path / "pipeline")
        pipeline = run_available_now(spark, lesson.kafka, lesson.topic, paths, timeout=240)
        bronze = spark.read.format("delta").load(paths.bronze)
        quarantined = spark.read.format("delta").load(paths.quarantine).count()
        assert bronze.count() + quarantined == 60 and quarantined > 0
        orders = bronze.filter(F.col("event_type") == "ORDER_PLACED").select("order_id").distinct()
        gold = spark.read.format("delta").load(paths.gold).agg(F.sum("order_count")).first()[0]
        assert gold == orders.count() > 0
        progress = "".join(str(query.recentProgress) for query in pipeline.queries)
        out, err = capfd.readouterr()
        assert_no_secret(progress, out, err, result.stdout, result.stderr, str(lesson.kafka))
    finally:
        delete_topic(lesson.kafka, lesson.topic)


@pytest.mark.spark
def test_a_wrong_password_is_one_line_within_30_seconds(
    sasl_broker, sasl_topic, spark, tmp_path, capfd
):
    env = login_env(sasl_broker.bootstrap_servers, "SCRAM-SHA-512", WRONG)
    started = time.monotonic()
    line = refusal(run(PRODUCER, "--topic", sasl_topic, "--count", "5", "--no-progress", **env))
    assert time.monotonic() - started < 30
    assert "refused the login" in line and "check KAFKA_SASL_USERNAME" in line, line

    wrong = SaslUser(USER, WRONG).settings(sasl_broker.bootstrap_servers, "SCRAM-SHA-512")
    started = time.monotonic()
    with pytest.raises(LabError) as failure:
        run_available_now(spark, wrong, sasl_topic, LabPaths.under(tmp_path), timeout=60)
    assert time.monotonic() - started < 30
    message = str(failure.value)
    assert "\n" not in message and "check KAFKA_SASL_USERNAME" in message, message
    out, err = capfd.readouterr()
    assert_no_secret(line, message, out, err)


def test_no_log_or_file_of_the_broker_holds_the_password(sasl_broker):
    files = [path for path in Path(sasl_broker.home).rglob("*") if path.is_file()]
    assert any(path.name == "server.log" for path in files)
    for path in files:
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            continue  # a deleted topic's segment, gone since the listing
        assert PASSWORD.encode() not in content and "wörd".encode() not in content, path


def test_credentials_are_checked_where_they_are_read(monkeypatch, capsys):
    monkeypatch.setattr(config, "_warned", set())  # the warning is printed once per process
    monkeypatch.setenv("KAFKA_SASL_USERNAME", USER)
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", PASSWORD)
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    settings = KafkaSettings.from_env("127.0.0.1:1")
    assert "sends no credentials" in capsys.readouterr().err
    assert "sasl.password" not in settings.client_config()
    assert mask_secrets({"x.sasl.jaas.config": jaas_config("PLAIN", USER, PASSWORD)}) == {
        "x.sasl.jaas.config": f"org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{USER}" password="****";'
    }
    line = refusal(run(LABSUPPORT, "broker", "start", "--sasl", KAFKA_SASL_PASSWORD="",
                       KAFKA_SASL_USERNAME=USER, KAFKA_BOOTSTRAP_SERVERS=""))  # fmt: skip
    assert "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD" in line
    line = refusal(run(LABSUPPORT, "broker", "start", "--sasl", KAFKA_SASL_USERNAME="a b",
                       KAFKA_SASL_PASSWORD="x", KAFKA_BOOTSTRAP_SERVERS=""))  # fmt: skip
    assert "letters, digits" in line
