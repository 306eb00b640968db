"""docker-compose.yml agrees with the lab: same Kafka, same topic, reachable from host and UI.

No Docker engine is needed: the file is read with PyYAML and every expected value comes from the
lab's own code (labsupport.config, labsupport.topics, labsupport.versions, the embedded broker's
settings). Where a ``docker compose`` CLI exists, it validates the file too.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess

import pytest
import yaml

from labsupport.broker import BROKER_HEAP, EmbeddedBroker
from labsupport.config import (
    DEFAULT_BROKER_PORT,
    PROJECT_ROOT,
    TOPIC,
    TOPIC_PARTITIONS,
    KafkaSettings,
)
from labsupport.topics import TOPIC_CONFIG
from labsupport.versions import KAFKA_VERSION

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
BROKER, INIT, UI = "kafka", "kafka-init", "kafka-ui"
#: Where the design (and the README) tells the learner to open the Kafka UI: http://localhost:8080.
UI_PORT = 8080
#: The apache/kafka image keeps Kafka's scripts here.
KAFKA_BIN = "/opt/kafka/bin"
#: Embedded-broker settings that the network layout decides; the listener tests check them instead.
NETWORK_SETTINGS = {
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "controller.quorum.voters",
    "log.dirs",
}

_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


# --- reading the file the way docker compose does ------------------------------------------------
def interpolate(value: object) -> str:
    """``${VAR}`` and ``${VAR:-default}`` resolved from the environment, as compose does."""
    if isinstance(value, bool):
        return str(value).lower()
    return _VARIABLE.sub(lambda m: os.environ.get(m[1]) or (m[2] or ""), str(value))


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(value) for key, value in env.items()}


def argv(service: dict) -> list[str]:
    """The container's command line: entrypoint, then command (exec form or shell form)."""
    words: list[str] = []
    for key in ("entrypoint", "command"):
        part = service.get(key) or []
        words += shlex.split(part) if isinstance(part, str) else [str(word) for word in part]
    return [interpolate(word) for word in words]


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` as ``{NAME: (host, port)}``."""
    result = {}
    for item in value.split(","):
        name, _, address = item.strip().partition("://")
        host, _, port = address.rpartition(":")
        result[name] = (host, int(port))
    return result


def published_ports(service: dict) -> set[tuple[str, int, int]]:
    """``(host ip, host port, container port)`` for each entry of ``ports``."""
    result = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            host_ip, published, target = (
                entry.get("host_ip", "0.0.0.0"),
                entry["published"],
                entry["target"],
            )
        else:
            parts = str(entry).split("/")[0].split(":")
            host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
            published, target = parts[-2], parts[-1]
        result.add((host_ip, int(published), int(target)))
    return result


def image_tag(image: str) -> tuple[str, str]:
    repository, _, tag = image.rpartition(":")
    if "/" in tag or not repository:  # "registry:5000/name" has no tag
        return image, ""
    return repository, tag


def env_name(setting: str) -> str:
    """The apache/kafka image's variable for a server property (its documented rule)."""
    return "KAFKA_" + setting.replace("_", "__").replace("-", "___").replace(".", "_").upper()


def address(host_port: tuple[str, int]) -> str:
    return f"{host_port[0]}:{host_port[1]}"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def broker_env(services) -> dict[str, str]:
    return environment(services[BROKER])


@pytest.fixture
def host_listener(broker_env, monkeypatch) -> str:
    """The advertised listener the lab's own default address (no KAFKA_BOOTSTRAP_SERVERS) names."""
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    default = KafkaSettings.from_env().bootstrap_servers
    advertised = listeners(broker_env["KAFKA_ADVERTISED_LISTENERS"])
    names = [name for name, host_port in advertised.items() if address(host_port) == default]
    assert len(names) == 1, (
        f"one advertised listener must be the lab's default {default}: {advertised}"
    )
    return names[0]


@pytest.fixture(scope="module")
def internal_listener(broker_env) -> str:
    """The advertised listener other containers use: its host is the broker's service name."""
    advertised = listeners(broker_env["KAFKA_ADVERTISED_LISTENERS"])
    names = [name for name, (host, _) in advertised.items() if host == BROKER]
    assert len(names) == 1, (
        f"one advertised listener must name the service {BROKER!r}: {advertised}"
    )
    return names[0]


# --- the file --------------------------------------------------------------------------------------
def test_the_file_has_the_broker_the_topic_init_and_the_ui(compose, services):
    assert {BROKER, INIT, UI} <= set(services)
    assert "version" not in compose, "the top-level `version` key is obsolete in Compose v2"


def _compose_cli() -> list[str] | None:
    """``docker compose`` (the plugin) or a standalone ``docker-compose`` v2+; None when neither."""
    candidates = []
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    for cli in candidates:
        result = subprocess.run([*cli, "version"], capture_output=True, text=True, check=False)
        major = re.search(r"version v?(\d+)\.", result.stdout)
        if result.returncode == 0 and major and int(major[1]) >= 2:  # v1 predates the Compose spec
            return cli
    return None


def test_docker_compose_accepts_the_file():
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no docker compose v2 CLI here: the file was only read with PyYAML")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- images ----------------------------------------------------------------------------------------
def test_every_image_is_pinned_to_a_version(services):
    for name, service in services.items():
        _, tag = image_tag(service["image"])
        assert tag, f"{name}: {service['image']} has no tag (that means `latest`)"
        assert tag not in {"latest", "main", "master", "edge", "nightly"}, f"{name}: {tag}"
        assert re.search(r"\d", tag) and "$" not in tag, f"{name}: {tag} is not a version"


def test_kafka_is_the_official_image_of_the_labs_kafka_version(services):
    assert services[BROKER]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert services[INIT]["image"] == services[BROKER]["image"]


def test_the_ui_is_a_released_kafbat_kafka_ui(services):
    repository, tag = image_tag(services[UI]["image"])
    assert repository in {"kafbat/kafka-ui", "ghcr.io/kafbat/kafka-ui"}
    assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), f"{tag} is not a release tag"


# --- listeners -------------------------------------------------------------------------------------
def test_the_host_listener_is_the_labs_default_address_and_is_published(
    services, broker_env, host_listener
):
    host, port = listeners(broker_env["KAFKA_ADVERTISED_LISTENERS"])[host_listener]
    assert port == DEFAULT_BROKER_PORT
    _, container_port = listeners(broker_env["KAFKA_LISTENERS"])[host_listener]
    assert (host, DEFAULT_BROKER_PORT, container_port) in published_ports(services[BROKER]), (
        f"{host}:{DEFAULT_BROKER_PORT} must be published to the container's {host_listener} port"
    )


def test_the_ui_reaches_the_broker_on_the_internal_listener(
    services, broker_env, internal_listener, host_listener
):
    assert internal_listener != host_listener
    advertised = listeners(broker_env["KAFKA_ADVERTISED_LISTENERS"])[internal_listener]
    ui_env = environment(services[UI])
    assert ui_env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"] == address(advertised)
    assert ui_env["KAFKA_CLUSTERS_0_NAME"]
    assert broker_env["KAFKA_INTER_BROKER_LISTENER_NAME"] == internal_listener


def test_listeners_agree_with_each_other(broker_env):
    bound = listeners(broker_env["KAFKA_LISTENERS"])
    advertised = listeners(broker_env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(
        item.split(":") for item in broker_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    controller = broker_env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    for name, (_, port) in advertised.items():
        assert name in bound and bound[name][1] == port, (
            f"{name} is advertised on a port it does not bind"
        )
    assert set(bound) == set(protocols), "every listener needs a security protocol, and no more"
    assert controller in bound and controller not in advertised
    for name, (host, _) in bound.items():
        assert host in {"0.0.0.0", ""}, f"{name} binds {host}: a published port could not reach it"


def test_the_controller_quorum_is_this_one_node(services, broker_env):
    assert set(broker_env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    voters = broker_env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert len(voters) == 1
    node_id, _, voter = voters[0].partition("@")
    host, _, port = voter.rpartition(":")
    assert node_id == broker_env["KAFKA_NODE_ID"]
    controller = broker_env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert int(port) == listeners(broker_env["KAFKA_LISTENERS"])[controller][1]
    assert host in {BROKER, services[BROKER].get("hostname"), "localhost", "127.0.0.1"}
    cluster_id = broker_env["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, (
        "CLUSTER_ID must be a base64 UUID"
    )


# --- behaviour -------------------------------------------------------------------------------------
def test_the_broker_behaves_like_the_embedded_one(broker_env, tmp_path):
    properties = EmbeddedBroker(home=tmp_path)._write_config().read_text().splitlines()
    embedded = dict(line.split("=", 1) for line in properties if line)
    for setting, value in embedded.items():
        if setting in NETWORK_SETTINGS:
            continue
        assert broker_env.get(env_name(setting)) == value, (
            f"the embedded broker sets {setting}={value}: set {env_name(setting)} the same"
        )


def test_the_broker_gets_the_embedded_brokers_heap(broker_env):
    assert broker_env.get("KAFKA_HEAP_OPTS", "").split() == BROKER_HEAP


def test_the_data_lives_on_a_named_volume(compose, services, broker_env):
    mounts = {}  # container path -> volume name (or host path)
    for volume in services[BROKER].get("volumes") or []:
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume.get("source")
        else:
            source, target = volume.split(":")[:2]
            mounts[target] = source
    assert mounts.get(broker_env["KAFKA_LOG_DIRS"]) in (compose.get("volumes") or {}), (
        "KAFKA_LOG_DIRS must be a named volume, so `down` keeps the data and `down -v` resets it"
    )


def test_the_broker_has_a_healthcheck_that_asks_the_broker(services, broker_env, internal_listener):
    check = services[BROKER]["healthcheck"]
    command = check["test"]
    words = shlex.split(command) if isinstance(command, str) else command
    assert words[0] in {"CMD", "CMD-SHELL"}
    script = " ".join(words[1:])
    assert script.startswith(f"{KAFKA_BIN}/kafka-"), script
    internal = address(listeners(broker_env["KAFKA_ADVERTISED_LISTENERS"])[internal_listener])
    assert f"--bootstrap-server {internal}" in script
    assert check.get("interval") and check.get("retries")
    for dependant in (INIT, UI):
        condition = services[dependant]["depends_on"][BROKER]["condition"]
        assert condition == "service_healthy", f"{dependant} must wait for a healthy broker"


def test_the_init_service_creates_the_labs_topic(services, broker_env, internal_listener):
    words = argv(services[INIT])

    def option(flag: str) -> str:
        assert flag in words, f"{flag} missing from {words}"
        return words[words.index(flag) + 1]

    assert words[0] == f"{KAFKA_BIN}/kafka-topics.sh"
    assert "--create" in words and "--if-not-exists" in words
    assert option("--topic") == TOPIC
    assert option("--partitions") == str(TOPIC_PARTITIONS)
    configs = [words[i + 1] for i, word in enumerate(words) if word == "--config"]
    assert dict(config.split("=", 1) for config in configs) == TOPIC_CONFIG
    internal = address(listeners(broker_env["KAFKA_ADVERTISED_LISTENERS"])[internal_listener])
    assert option("--bootstrap-server") == internal
    assert services[INIT].get("restart", "no") == "no", "a one-shot service must not restart"


def test_the_ui_is_on_port_8080_of_this_machine(services):
    ui_port = int(environment(services[UI]).get("SERVER_PORT", UI_PORT))
    assert ("127.0.0.1", UI_PORT, ui_port) in published_ports(services[UI])


def test_no_credentials_in_the_file(services):
    for name, service in services.items():
        for key in environment(service):
            assert not re.search(r"PASSWORD|SECRET|SASL_JAAS|API_KEY", key), (
                f"{name}: {key} belongs in the environment, never in docker-compose.yml"
            )
