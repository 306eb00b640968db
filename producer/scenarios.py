"""Recorded scenarios: fixed records with fixed event times, replayed exactly, for deterministic lessons.

A scenario file (``data/scenarios/<name>.json``) is one JSON object::

    {"name": "too_late",
     "description": "one line: what the scenario demonstrates",
     "phases": [[record, ...], [record, ...]]}

A record is ``{"key": "...", "value": {event}}`` (the event is sent as compact JSON), or
``{"key": ..., "raw": "text"}`` / ``{"key": ..., "raw_base64": "..."}`` for bytes that are not a
valid event; ``key`` may be null. Optional ``"expect"`` says what the pipeline must do with it
(``labsupport.contract.FATES``) and ``"note"`` says why. Phases exist for the watermark lessons: send
phase 1, let the pipeline process it (the watermark advances), then send phase 2.

>>> [scenario.name for scenario in list_scenarios()][:3]
['on_time', 'late_within_tolerance', 'too_late']
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path

from labsupport.config import SCENARIOS_DIR
from labsupport.contract import FATES
from labsupport.errors import LabError
from producer.feed import encode_event

__all__ = ["Scenario", "ScenarioRecord", "list_scenarios", "load_scenario"]

#: The order the lessons use them in; other files follow alphabetically.
LESSON_ORDER = (
    "on_time", "late_within_tolerance", "too_late", "window_boundary", "duplicates", "malformed",
)  # fmt: skip
_RECORD_KEYS = {"key", "value", "raw", "raw_base64", "expect", "note"}


@dataclass(frozen=True)
class ScenarioRecord:
    """One Kafka record of a scenario: key and value bytes, and what the pipeline should do with it."""

    key: bytes | None
    value: bytes
    expect: str | None = None
    note: str | None = None
    #: the event object when the file gives one as ``"value"`` (None for raw records)
    event: dict | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Scenario:
    """A named, described list of phases; each phase is a list of records sent in order."""

    name: str
    description: str
    phases: list[list[ScenarioRecord]]
    path: Path | None = field(default=None, compare=False)

    @property
    def records(self) -> list[ScenarioRecord]:
        """Every record, phase after phase."""
        return [record for phase in self.phases for record in phase]

    def phase(self, number: int) -> list[ScenarioRecord]:
        """The records of phase ``number`` (counted from 1, as the lessons say it)."""
        if not 1 <= number <= len(self.phases):
            raise LabError(
                f"Scenario {self.name} has {len(self.phases)} phase(s): "
                f"choose a phase from 1 to {len(self.phases)}, not {number}."
            )
        return self.phases[number - 1]

    def expecting(self, expect: str) -> list[ScenarioRecord]:
        """The records whose ``expect`` is ``expect`` (e.g. ``"counted"``)."""
        if expect not in FATES:
            raise ValueError(f"expect must be one of {', '.join(FATES)}, not {expect!r}")
        return [record for record in self.records if record.expect == expect]


def _record(data: object, where: str) -> ScenarioRecord:
    if not isinstance(data, dict):
        raise LabError(f"{where}: a record must be a JSON object")
    unknown = set(data) - _RECORD_KEYS
    if unknown:
        raise LabError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    bodies = [name for name in ("value", "raw", "raw_base64") if name in data]
    if len(bodies) != 1:
        raise LabError(f"{where}: give exactly one of value, raw, raw_base64")
    key = data.get("key")
    if key is not None and not isinstance(key, str):
        raise LabError(f"{where}: key must be a string or null")
    expect, note = data.get("expect"), data.get("note")
    if expect is not None and expect not in FATES:
        raise LabError(f"{where}: expect must be one of {', '.join(FATES)}, not {expect!r}")
    if note is not None and not isinstance(note, str):
        raise LabError(f"{where}: note must be a string")
    event = None
    if bodies[0] == "value":
        event = data["value"]
        if not isinstance(event, dict):
            raise LabError(f"{where}: value must be a JSON object (use raw for other text)")
        value = encode_event(event)
    elif bodies[0] == "raw":
        if not isinstance(data["raw"], str):
            raise LabError(f"{where}: raw must be a string")
        value = data["raw"].encode("utf-8")
    else:
        try:
            value = base64.b64decode(data["raw_base64"], validate=True)
        except (binascii.Error, TypeError):
            raise LabError(f"{where}: raw_base64 is not valid base64") from None
    return ScenarioRecord(
        key=None if key is None else key.encode("utf-8"),
        value=value,
        expect=expect,
        note=note,
        event=event,
    )


def _scenario_from_file(path: Path) -> Scenario:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabError(f"Scenario file {path} does not exist.") from None
    except ValueError as error:
        raise LabError(f"Scenario file {path} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or set(data) != {"name", "description", "phases"}:
        raise LabError(f"{path}: a scenario is an object with name, description and phases")
    name, description, phases = data["name"], data["description"], data["phases"]
    if not isinstance(name, str) or not name:
        raise LabError(f"{path}: name must be a non-empty string")
    if not isinstance(description, str) or not description.strip() or "\n" in description:
        raise LabError(f"{path}: description must be one non-empty line")
    if not isinstance(phases, list) or not phases:
        raise LabError(f"{path}: phases must be a non-empty list of lists of records")
    parsed: list[list[ScenarioRecord]] = []
    for number, phase in enumerate(phases, start=1):
        if not isinstance(phase, list) or not phase:
            raise LabError(f"{path}: phase {number} must be a non-empty list of records")
        parsed.append(
            [
                _record(record, f"{path.name} phase {number} record {index}")
                for index, record in enumerate(phase, start=1)
            ]
        )
    return Scenario(name=name, description=description, phases=parsed, path=path)


def _scenario_files(directory: Path) -> list[Path]:
    files = {path.stem: path for path in directory.glob("*.json")}
    ordered = [files.pop(name) for name in LESSON_ORDER if name in files]
    return ordered + [files[name] for name in sorted(files)]


def list_scenarios(directory: Path | str | None = None) -> list[Scenario]:
    """Every scenario in ``data/scenarios/`` (or ``directory``), in lesson order."""
    return [
        _scenario_from_file(path)
        for path in _scenario_files(Path(directory) if directory else SCENARIOS_DIR)
    ]


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by name (``"too_late"``) or by the path of its file."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".json") or "/" in text:
        return _scenario_from_file(Path(name_or_path))
    path = SCENARIOS_DIR / f"{text}.json"
    if not path.exists():
        names = ", ".join(path.stem for path in _scenario_files(SCENARIOS_DIR))
        raise LabError(f"No scenario named {text!r}: choose one of {names or '(none found)'}.")
    scenario = _scenario_from_file(path)
    if scenario.name != text:
        raise LabError(f"{path}: its name is {scenario.name!r}, but the file is named {text}.json")
    return scenario
