"""The lab's environment variables, each checked where it is read.

A setting with a typo must not become a stack trace in every command (``int("abc")`` at
import) nor a silent default: each reader here raises a one-line :class:`LabError` naming the
variable, what it got and what it takes. An unset or empty variable means the default.

>>> import os
>>> os.environ["LAB_EXAMPLE"] = "abc"
>>> env_int("LAB_EXAMPLE", 10, minimum=1)
Traceback (most recent call last):
...
labsupport.errors.LabError: LAB_EXAMPLE='abc' is not a whole number: set a whole number of 1 or more (default 10), or unset it.
>>> env_choice("LAB_EXAMPLE", "earliest", ("earliest", "latest"))
Traceback (most recent call last):
...
labsupport.errors.LabError: LAB_EXAMPLE='abc' is not one of earliest, latest (default earliest).
>>> del os.environ["LAB_EXAMPLE"]
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import overload

from labsupport.durations import AVAILABLE_NOW, parse_duration, trigger_interval
from labsupport.errors import LabError

__all__ = ["env_choice", "env_duration", "env_flag", "env_int", "env_memory", "env_trigger"]

_FLAGS = {"1": True, "true": True, "yes": True, "on": True,
          "0": False, "false": False, "no": False, "off": False}  # fmt: skip
_MEMORY = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)


def _raw(name: str) -> str | None:
    text = os.environ.get(name)
    return text.strip() if text and text.strip() else None


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number from ``name``, within ``minimum`` .. ``maximum``."""
    text = _raw(name)
    if text is None:
        return default
    span = f"{minimum} or more" if maximum is None else f"from {minimum} to {maximum}"
    try:
        value = int(text)
    except ValueError:
        raise LabError(
            f"{name}={text!r} is not a whole number: set a whole number of {span} "
            f"(default {default}), or unset it."
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise LabError(
            f"{name}={text!r} is out of range: set a whole number of {span} (default {default})."
        )
    return value


@overload
def env_choice(name: str, default: str, choices: Sequence[str], *, upper: bool = False) -> str: ...
@overload
def env_choice(
    name: str, default: None, choices: Sequence[str], *, upper: bool = False
) -> str | None: ...
def env_choice(
    name: str, default: str | None, choices: Sequence[str], *, upper: bool = False
) -> str | None:
    """One of ``choices`` from ``name`` (``upper``: in any case); ``default`` when unset."""
    text = _raw(name)
    if text is None:
        return default
    text = text.upper() if upper else text
    if text not in choices:
        otherwise = f"default {default}" if default else "or unset it"
        raise LabError(f"{name}={text!r} is not one of {', '.join(choices)} ({otherwise}).")
    return text


def env_flag(name: str, default: bool = False) -> bool:
    """An on/off switch: 1/true/yes/on or 0/false/no/off."""
    text = _raw(name)
    if text is None:
        return default
    if text.lower() not in _FLAGS:
        raise LabError(f"{name}={text!r} is not a switch: set it to 1 or 0 (or unset it).")
    return _FLAGS[text.lower()]


def env_memory(name: str, default: str) -> str:
    """A JVM memory size such as ``2g`` or ``768m``."""
    text = _raw(name)
    if text is None:
        return default
    if not _MEMORY.match(text):
        raise LabError(f"{name}={text!r} is not a memory size like 2g or 768m (default {default}).")
    return text


def env_duration(name: str, default: str) -> float:
    """A duration in seconds from ``90``, ``90s``, ``5m``, ``5 minutes``: 0 or more."""
    text = _raw(name) or default
    try:
        return parse_duration(text)
    except ValueError:
        raise LabError(
            f"{name}={text!r} is not a duration like '5 minutes', '90s' or '2m' (default {default})."
        ) from None


def env_trigger(name: str, default: str) -> str:
    """A trigger: an interval (``30 seconds``, ``1s``) or ``available-now``."""
    text = _raw(name)
    if text is None:
        return default
    try:
        trigger_interval(text)
    except ValueError:
        raise LabError(
            f"{name}={text!r} is not a trigger: an interval like '30 seconds' or "
            f"'{AVAILABLE_NOW}' (default {default})."
        ) from None
    return text
