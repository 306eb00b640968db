"""Malformed records of every kind go to quarantine with a reason, through Kafka, while the
stream keeps running; the Spark rules agree with the producer's plain-Python contract."""

from __future__ import annotations

import random

import pytest
from pyspark.sql import functions as F

from labsupport.config import LabPaths
from labsupport.runner import start_pipeline
from labsupport.schema import EVENT_FIELDS
from producer import MALFORMED_KINDS, OrderFeed, contract_violations, encode_event, malformed_record
from tests.streaming import send

pytestmark = [pytest.mark.kafka, pytest.mark.spark, pytest.mark.slow]


def subjects(reasons: list[str]) -> set[str]:
    """What each reason is about: the field it names (wording may differ), else the reason."""
    return {next((f for f in EVENT_FIELDS if f in reason), reason) for reason in reasons}


def test_every_malformed_kind_is_quarantined_and_the_stream_keeps_running(
    spark, kafka, topic, tmp_path
):
    feed, rng = OrderFeed(seed=7), random.Random(7)
    broken = {}
    for kind in MALFORMED_KINDS:
        for copy in range(2):  # two seeds' worth of each kind
            broken[(kind, copy)] = malformed_record(kind, feed.next_event(), rng)
    valid = [encode_event(feed.next_event()) for _ in range(20)]
    paths = LabPaths.under(tmp_path)

    pipeline = start_pipeline(spark, kafka, topic, paths, trigger="1 second")
    try:
        send(kafka, topic, [*valid[:10], *broken.values(), *valid[10:]])
        pipeline.process_all_available()
        assert all(query.isActive for query in pipeline.queries), "bad input must not stop a stream"
    finally:
        pipeline.stop()

    quarantine = spark.read.format("delta").load(paths.quarantine)
    assert quarantine.count() == len(broken)
    assert quarantine.filter(F.size("reasons") == 0).count() == 0, "every record says why"
    assert spark.read.format("delta").load(paths.bronze).count() == len(valid)

    by_value = {}
    for row in quarantine.collect():
        raw = row.raw_value.encode() if row.raw_value is not None else None
        by_value[raw] = row
    for (kind, _), value in broken.items():
        expected = contract_violations(value)
        if kind == "not_utf8":
            row = next(r for r in quarantine.collect() if r.raw_value is None)
            assert row.raw_value_base64, "bytes that are not text are kept as base64"
            assert row.reasons == expected == ["value is not valid UTF-8"]
            continue
        row = by_value[value]
        assert row.reasons, kind
        assert subjects(row.reasons) <= subjects(expected), (
            f"{kind}: Spark says {row.reasons}, the producer's contract says {expected}"
        )
