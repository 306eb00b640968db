"""Is anything listening? One TCP probe for the broker, the preflight and the Kafka helpers.

And a free port for a broker of its own (the tests, the benchmarks).

A closed port answers at once, where a Kafka client would retry (and log) until its own, longer
timeout: so the lab probes first, quietly, and says what to start.

>>> port_open("127.0.0.1", 9, timeout=0.2)  # the discard port: nothing listens there
False
"""

from __future__ import annotations

import socket

__all__ = ["free_port", "port_open"]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when ``host:port`` accepts a TCP connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A loopback port nothing listens on right now (the system picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
