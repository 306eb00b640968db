"""The one exception type the lab raises for problems a learner can fix, and failures in one line.

A :class:`LabError`'s message is a single line that says what went wrong and what to do; the
command line prints it without a stack trace. :func:`explain_failure` turns a streaming query's
failure (a page of JVM stack trace) into such a line.

Importing this module also makes an *uncaught* :class:`LabError` print as that one line
(``error: ...``, exit code 1) in every script and command — e.g. a bad ``LAB_*`` setting, which
is read when :mod:`labsupport.config` is imported, before any command's own handler runs. Other
exceptions print as before; Jupyter shows errors its own way and is not affected.
"""

from __future__ import annotations

import os
import re
import sys
from types import TracebackType

__all__ = ["LabError", "explain_failure", "is_login_failure", "kafka_unreachable"]

_STREAM_FAILED = re.compile(r"^\[STREAM_FAILED\] Query \[[^\]]*\] terminated with exception: ")


class LabError(RuntimeError):
    """A problem with the learner's setup, with a one-line message naming the fix."""


_LOGIN_FAILED = re.compile(r"authentication (error|failed)", re.IGNORECASE)


def is_login_failure(detail: str) -> bool:
    """True when a Kafka client's error text says the cluster refused its login."""
    return bool(_LOGIN_FAILED.search(detail))


def kafka_unreachable(bootstrap_servers: str, detail: str, waited: float | None = None) -> LabError:
    """The one-line error for a cluster a client could not use, with the fix that fits ``detail``.

    >>> str(kafka_unreachable("h:9092", "SASL authentication error: Authentication failed"))[:42]
    'Kafka at h:9092 refused the login (SASL au'
    """
    if is_login_failure(detail):
        return LabError(
            f"Kafka at {bootstrap_servers} refused the login ({detail}): check "
            "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SASL_MECHANISM and "
            "KAFKA_SECURITY_PROTOCOL."
        )
    within = f" within {waited:g} s" if waited is not None else ""
    on_this_machine = re.fullmatch(r"(?:127\.0\.0\.1|localhost):(\d+)", bootstrap_servers)
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        fix = (
            "start it with `make start`, or check KAFKA_BOOTSTRAP_SERVERS (and "
            "KAFKA_SECURITY_PROTOCOL, if the cluster wants a login or TLS)."
        )
    elif on_this_machine:  # `make start` can serve that address: with PORT exported too
        fix = (
            "KAFKA_BOOTSTRAP_SERVERS is set, so the lab uses that address: start a broker there "
            f"(`export PORT={on_this_machine.group(1)}`, then `make start`), or "
            "`unset KAFKA_BOOTSTRAP_SERVERS` to use the lab's own broker (`make start`)."
        )
    else:  # `make start` starts no broker then: no use
        fix = (
            "KAFKA_BOOTSTRAP_SERVERS is set, so the lab uses that cluster and starts none: check "
            "that it runs and that the address is right (and KAFKA_SECURITY_PROTOCOL, if it "
            "wants a login or TLS), or `unset KAFKA_BOOTSTRAP_SERVERS` to use the lab's own "
            "broker (`make start`)."
        )
    return LabError(f"Kafka at {bootstrap_servers} did not answer{within} ({detail}): {fix}")


def _print_lab_errors_in_one_line() -> None:
    previous = sys.excepthook
    if getattr(previous, "lab_one_line", False):
        return

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if isinstance(error, LabError):
            print(f"error: {error}", file=sys.stderr)
        else:
            previous(kind, error, trace)

    hook.lab_one_line = True  # type: ignore[attr-defined]
    sys.excepthook = hook


_print_lab_errors_in_one_line()


def explain_failure(error: BaseException) -> str:
    """A streaming failure as one line: its first sentence, plus Spark's ``Reason:`` if any.

    >>> explain_failure(RuntimeError("Some data may have been lost;\\nmore\\nReason: gone."))
    'Some data may have been lost; Reason: gone.'
    """
    text = str(getattr(error, "desc", None) or error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    first = _STREAM_FAILED.sub("", lines[0])
    reason = next((line for line in lines[1:] if line.startswith("Reason:")), None)
    explained = f"{first} {reason}" if reason else first
    if is_login_failure(explained):
        explained += " — check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM."
    return explained
