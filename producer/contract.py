"""The event contract as the producer promises it: the pipeline's rules, plus two of its own.

The rules live once, in :mod:`labsupport.contract` (the plain-Python twin of the pipeline's
``validate_events``). The producer checks its output with them in strict mode: besides every rule
the pipeline applies, ``order_id`` is a UUID and ``event_timestamp`` has exactly the shape
``2026-01-15T10:03:27.512Z``. The clock rule (no event stamped more than the tolerance after
the broker receives it) is checked against now, the earliest a broker can receive a record.
The producer's tests, the scenario files and lesson 01 use it to
check a record without starting Spark.

>>> contract_violations(b'{"order_id": 1}')[:2]
['missing field customer_id', 'missing field product_id']
>>> contract_violations(b"\\xff\\xfe{")
['value is not valid UTF-8']
"""

from __future__ import annotations

from datetime import datetime, timezone

from labsupport.contract import record_violations

__all__ = ["contract_violations", "is_valid_event"]


def contract_violations(value: bytes | None) -> list[str]:
    """Every rule of the event contract that ``value`` breaks (empty for a valid event)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # the earliest a broker can receive it
    return record_violations(value, strict=True, received_at=now)


def is_valid_event(value: bytes | None) -> bool:
    """True when ``value`` follows the event contract."""
    return not contract_violations(value)
