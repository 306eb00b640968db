"""The embedded broker's ``--sasl`` mode: one user, PLAIN and SCRAM-SHA-512, no password on disk.

``broker start --sasl`` reads the same two variables the clients read (``KAFKA_SASL_USERNAME``,
``KAFKA_SASL_PASSWORD``). The broker's one client listener becomes ``SASL_PLAINTEXT`` on
loopback; its PLAIN login (server side, and its own as a client of itself) is a JAAS line that
lives only in the broker process's environment — ``server.properties`` names the variable
(Kafka's ``EnvVarConfigProvider``) — and the SCRAM credential is stored in the cluster's
metadata through the admin API at each start.
"""

from __future__ import annotations

import locale
import os
import re
from dataclasses import dataclass, field

from labsupport.config import KafkaSettings, jaas_config
from labsupport.errors import LabError

__all__ = [
    "SASL_MECHANISMS",
    "SaslUser",
    "add_scram_user",
    "sasl_environment",
    "sasl_listener_settings",
]

#: The SASL mechanisms the broker's ``--sasl`` listener accepts (the lab's clients speak both).
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-512")
#: The broker reads its PLAIN login from this variable of its own environment (Kafka's
#: ``EnvVarConfigProvider``), so the password is never written to a file under ``home``.
_JAAS_VARIABLE = "LAB_BROKER_PLAIN_JAAS"
_USERNAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class SaslUser:
    """The one user a ``--sasl`` broker accepts (the clients' ``KAFKA_SASL_USERNAME``/``_PASSWORD``)."""

    username: str
    password: str = field(repr=False)

    @classmethod
    def from_env(cls, running_pid: int | None = None) -> SaslUser:
        """The user from the environment; a one-line error when either part is missing.

        ``running_pid``: a SASL broker already runs, and the error says so.
        """
        username = os.environ.get("KAFKA_SASL_USERNAME", "")
        password = os.environ.get("KAFKA_SASL_PASSWORD", "")
        if (not username or not password) and running_pid is not None:
            raise LabError(
                f"The lab's broker (pid {running_pid}) runs with SASL: export KAFKA_SASL_USERNAME "
                "and KAFKA_SASL_PASSWORD as when you started it, or `make stop`."
            )
        if not username or not password:
            raise LabError(
                "The lab's SASL broker needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: export "
                "both (the clients read the same two)."
            )
        if not _USERNAME.fullmatch(username):
            raise LabError(
                "KAFKA_SASL_USERNAME for the lab's SASL broker may hold letters, digits, _ and - "
                "only (the password may hold anything)."
            )
        return cls(username, password)

    def settings(self, bootstrap_servers: str, mechanism: str = "PLAIN") -> KafkaSettings:
        """Client settings that log in as this user over ``SASL_PLAINTEXT``."""
        return KafkaSettings(
            bootstrap_servers=bootstrap_servers,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=mechanism,
            sasl_username=self.username,
            sasl_password=self.password,
        )


def sasl_listener_settings(port: int, controller_port: int) -> dict[str, str]:
    """The ``server.properties`` entries of a broker whose client listener wants a login."""
    listener = f"SASL_PLAINTEXT://127.0.0.1:{port}"
    return {
        "listeners": f"{listener},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": listener,
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": ",".join(SASL_MECHANISMS),
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "config.providers": "env",
        "config.providers.env.class": (
            "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
        ),
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": f"${{env:{_JAAS_VARIABLE}}}",
        "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
    }


def sasl_environment(user: SaslUser) -> dict[str, str]:
    """The broker process's extra environment: its PLAIN JAAS line (the only copy of the password).

    Java decodes environment variables in the locale's charset: under a C/POSIX locale a
    non-ASCII password would reach the broker garbled, so the broker gets a UTF-8 locale.
    """
    server_side = {f"user_{user.username}": user.password}
    extra = {_JAAS_VARIABLE: jaas_config("PLAIN", user.username, user.password, **server_side)}
    if "utf" not in locale.getpreferredencoding(False).lower().replace("-", ""):
        extra["LC_ALL"] = "C.UTF-8"
    return extra


def add_scram_user(user: SaslUser, settings: KafkaSettings) -> None:
    """Store ``user``'s SCRAM-SHA-512 credential in the cluster (``settings`` log in with PLAIN).

    KRaft keeps SCRAM credentials in its metadata; an upsert at every start keeps them equal
    to the password the environment holds now.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import (
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    from labsupport.topics import admin_client

    upsert = UserScramCredentialUpsertion(
        user.username,
        ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192),
        user.password.encode(),
    )
    admin = admin_client(settings)
    try:
        for future in admin.alter_user_scram_credentials([upsert], request_timeout=30).values():
            future.result()
    except KafkaException as error:
        raise LabError(
            f"The broker started but did not store the SCRAM login ({error.args[0].str()}): it is "
            "stopped again; see its log (logs/server.log in its folder)."
        ) from None
