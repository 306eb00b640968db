"""Checks of lesson 01, producing order events: where a key's records land, what a sample holds."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from labsupport.checks.core import (
    CheckResult,
    as_number,
    as_whole_number,
    is_unanswered,
    wrong_type,
)
from labsupport.errors import LabError
from labsupport.schema import REGION_WEIGHTS
from labsupport.topics import read_to_end

if TYPE_CHECKING:
    from labsupport.config import KafkaSettings

__all__ = ["check_key_partition", "check_region_share"]


def check_key_partition(answer: Any, settings: KafkaSettings, topic: str, key: str) -> CheckResult:
    """Exercise 01.1: ``answer`` is the partition that holds every record keyed ``key``.

    The expected partition is read from the broker: every record of ``topic`` is consumed and
    the partitions of the records with that key are collected (there must be exactly one).
    """
    hint = (
        "the producer keys every event by its order_id, so all of an order's events share one "
        "partition: find a record whose key is that order_id (the `records` table above, or a "
        "Consumer) and take its partition, an int"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    wanted = key.encode("utf-8")
    try:
        found = Counter(m.partition() for m in read_to_end(settings, topic) if m.key() == wanted)
    except LabError:
        return CheckResult.not_ready(
            f"the broker does not know topic {topic}", "run the cells above first"
        )
    if not found:
        return CheckResult.fail(
            f"no record on {topic} has the key {key!r}",
            "run the cells of section 2 first: they produce the events",
        )
    if len(found) > 1:  # pragma: no cover - Kafka's partitioner never does this for one key
        return CheckResult.fail(f"records keyed {key!r} sit in partitions {sorted(found)}", hint)
    ((expected, records),) = found.items()
    partition = as_whole_number(answer)
    if partition is None:
        return wrong_type("a partition", answer, hint)
    if partition != expected:
        return CheckResult.fail(
            f"partition of order {key}: expected {expected}, got {partition}", hint
        )
    return CheckResult.ok(
        f"all {records} record{'s' if records != 1 else ''} of order {key} are in partition "
        f"{expected}: same key, same partition"
    )


def check_region_share(answer: Any, events: Any, region: str) -> CheckResult:
    """Exercise 01.2: ``answer`` is the share (0–1) of ``events`` whose region is ``region``.

    ``events`` is the sample the learner was given: a pandas DataFrame with a ``region`` column
    (or a list of event dicts). The share is compared within 0.001.
    """
    hint = (
        f'(events["region"] == "{region}").mean() — the number of {region} events divided by '
        "the number of events: a fraction between 0 and 1"
    )
    if is_unanswered(answer):
        return CheckResult.not_answered(hint)
    regions = (
        list(events["region"]) if hasattr(events, "columns") else [e["region"] for e in events]
    )
    if not regions:
        return CheckResult.not_ready("the sample holds no events", "run the cells above first")
    matching = sum(value == region for value in regions)
    expected = matching / len(regions)
    share = as_number(answer)
    if share is None:
        return wrong_type("the share", answer, hint, kind="a number between 0 and 1")
    weight = REGION_WEIGHTS.get(region)
    if abs(share - expected) <= 0.001:
        design = f" (the design's weight is {weight:.2f})" if weight is not None else ""
        return CheckResult.ok(
            f"{matching} of {len(regions)} events are {region}: a share of {expected:.3f}{design}"
        )
    if abs(share - 100 * expected) <= 0.1:
        return CheckResult.fail(
            f"{share:g} is a percentage; give the share as a fraction ({expected:.3f})", hint
        )
    if share == matching:
        return CheckResult.fail(
            f"{share:g} is the number of {region} events; divide by the {len(regions)} events",
            hint,
        )
    if weight is not None and abs(share - weight) <= 1e-9:
        return CheckResult.fail(
            f"{share:g} is the design's weight for {region}; measure the sample instead", hint
        )
    return CheckResult.fail(
        f"share of {region} events: expected {expected:.3f}, got {share:.3f}", hint
    )
