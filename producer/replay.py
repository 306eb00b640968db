"""Replaying a recorded scenario to Kafka: its records in file order, its bytes exactly as written.

The lessons that predict what the pipeline does need the same records every time: a scenario
(:mod:`producer.scenarios`) fixes keys, values and event times, and :func:`replay_scenario` sends
them unchanged, phase by phase, counting what is late, duplicated or malformed on the way.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from labsupport.config import KafkaSettings
from labsupport.errors import LabError
from producer.connect import connect_producer
from producer.scenarios import Scenario, ScenarioRecord, load_scenario
from producer.stats import ProduceStats
from producer.stopping import StopRequests, settle
from producer.timefmt import parse_timestamp

__all__ = ["replay_scenario"]


def _event_time(record: ScenarioRecord) -> datetime | None:
    if record.event is None:
        return None
    try:
        return parse_timestamp(record.event.get("event_timestamp"))
    except ValueError:
        return None


def replay_scenario(
    settings: KafkaSettings,
    topic: str,
    scenario: Scenario | str | Path,
    phase: int | None = None,
    *,
    connect_timeout: float = 10.0,
    flush_timeout: float = 30.0,
) -> ProduceStats:
    """Send a recorded scenario exactly: its records in file order, its bytes and event times as written.

    ``phase`` None sends every phase in order; ``phase=1`` sends only the first (the lessons send
    phase 1, let the pipeline process it, then send phase 2). Waits for every acknowledgement and
    raises LabError if any record was not delivered. ``late`` counts records whose event time is
    older than the newest event of the scenario before them (earlier phases included).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    phases: Iterable[list[ScenarioRecord]] = (
        scenario.phases if phase is None else [scenario.phase(phase)]
    )
    stats = ProduceStats()
    earlier = [] if phase is None else scenario.phases[: phase - 1]
    times = [_event_time(record) for records in earlier for record in records]
    newest: datetime | None = max((moment for moment in times if moment), default=None)
    start = time.monotonic()
    with StopRequests() as stop:
        producer, _ = connect_producer(settings, topic, timeout=connect_timeout, **{"linger.ms": 5})
        for record in (record for records in phases for record in records):
            if stop.count:
                stats.interrupted = True
                break
            producer.produce(topic, record.value, record.key, on_delivery=stats.on_delivery)
            stats.sent += 1
            if record.expect == "duplicate":
                stats.duplicates += 1
            elif record.expect == "quarantine":
                stats.malformed += 1
            moment = _event_time(record)
            if moment is not None:
                if newest is not None and moment < newest:
                    stats.late += 1
                newest = moment if newest is None else max(newest, moment)
            producer.poll(0)
        settle(producer, stats, flush_timeout, stop)
    stats.elapsed_s = time.monotonic() - start
    if stats.interrupted:
        raise KeyboardInterrupt
    if stats.failed:
        raise LabError(
            f"Scenario {scenario.name}: {stats.failed} of {stats.sent} records were not delivered "
            f"to {topic} ({stats.last_error})."
        )
    return stats
