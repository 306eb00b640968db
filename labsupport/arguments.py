"""Command-line arguments checked as they are parsed, each refusal one line that names the fix.

Both command lines (``python -m labsupport`` and the producer) build their parsers from here, so
``--rate 0``, ``--port 70000``, ``--limit -3`` or ``--trigger "5 bananas"`` are refused the same
way: ``error: argument --port: '70000' must be from 1 to 65535 (see --help)``.

>>> OneLineParser(prog="x").add_argument("--port", type=port) is not None
True
>>> port("70000")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: '70000' must be from 1 to 65535
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

from labsupport.durations import AVAILABLE_NOW, parse_duration, trigger_interval

__all__ = [
    "OneLineParser",
    "argument",
    "at_least_one",
    "count",
    "duration",
    "port",
    "positive",
    "trigger",
]

T = TypeVar("T")


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (not the usage block), exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see --help)\n")


def argument(
    convert: Callable[[str], T], accept: Callable[[T], bool], requirement: str, kind: str | None
) -> Callable[[str], T]:
    """An argparse ``type``: ``convert`` the text (it is not ``kind`` if that fails), then ``accept`` it.

    Both refusals are one line: ``'fast' is not a number``, ``'0' must be a number above 0``;
    without ``kind`` the converter's own ValueError is the message.
    """

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {kind}" if kind else str(error)
            ) from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{text!r} must be {requirement}")
        return value

    return parse


def _trigger(text: str) -> str:
    try:
        trigger_interval(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an interval like '30 seconds' or '{AVAILABLE_NOW}'"
        ) from None
    return text


positive = argument(float, lambda value: 0 < value < math.inf, "a number above 0", "a number")
count = argument(int, lambda value: value >= 0, "0 or more", "a whole number")
at_least_one = argument(int, lambda value: value >= 1, "1 or more", "a whole number")
duration = argument(parse_duration, lambda value: value > 0, "longer than 0 s", None)
port = argument(int, lambda value: 1 <= value <= 65_535, "from 1 to 65535", "a port number")
trigger = argument(_trigger, lambda _: True, "", None)
