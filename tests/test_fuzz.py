"""Ten thousand fuzzed records never stop the stream, and every one lands in Bronze or quarantine.

Random bytes, truncated and deeply nested JSON, values near Kafka's 1 MB limit, wrong types,
unicode everywhere, times far in the past and the future: the pipeline must take them all, with
records in = Bronze + quarantine exactly, each Kafka record once — and the plain-Python contract
must give the reasons Spark gives, without raising, for every one of them.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import pytest

from labsupport.config import LabPaths
from labsupport.contract import record_violations
from labsupport.runner import run_available_now
from producer import OrderFeed, encode_event
from tests.streaming import send
from tests.test_quarantine import subjects

RECORDS = 10_000


def _nested(rng: random.Random) -> bytes:
    depth = rng.randint(1_500, 5_000)  # deeper than Python's and Jackson's parsers go
    if rng.random() < 0.5:
        return ("[" * depth + "]" * depth).encode()
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def _wrong_type(event: dict, rng: random.Random) -> bytes:
    name = rng.choice(sorted(event))
    event[name] = rng.choice([None, True, [], {}, 1e400 if name != "order_id" else 7, "", "3"])
    return json.dumps(event).encode()


def _unicode(event: dict, rng: random.Random) -> bytes:
    name = rng.choice(["order_id", "customer_id", "product_name", "region", "product_category"])
    event[name] = "".join(chr(rng.choice([0x00E9, 0x4E2D, 0x1F600, 0x202E, 0x0000, 0xFFFD]))
                          for _ in range(rng.randint(1, 20)))  # fmt: skip
    return json.dumps(event, ensure_ascii=rng.random() < 0.5).encode()


def _far_time(event: dict, rng: random.Random) -> bytes:
    event["event_timestamp"] = rng.choice(["0001-01-01T00:00:00.000Z", "1900-02-29T00:00:00Z",
                                           "2999-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
                                           "2026-13-45T99:99:99Z", "1e10"])  # fmt: skip
    return json.dumps(event).encode()


def fuzzed_records(count: int = RECORDS, seed: int = 13) -> list[bytes]:
    """``count`` records of every kind above, about a fifth of them valid events."""
    rng, feed = random.Random(seed), OrderFeed(seed=seed)
    records = [b"x" * 900_000, json.dumps({"order_id": "y" * 900_000}).encode()]  # near 1 MB
    while len(records) < count:
        event = feed.next_event()
        valid = encode_event(event)
        kind = rng.randrange(8)
        if kind == 0:
            records.append(rng.randbytes(rng.randint(0, 200)))
        elif kind == 1:
            records.append(valid[: rng.randint(0, len(valid) - 1)])
        elif kind == 2:
            records.append(_nested(rng))
        elif kind == 3:
            records.append(_wrong_type(event, rng))
        elif kind == 4:
            records.append(_unicode(event, rng))
        elif kind == 5:
            records.append(_far_time(event, rng))
        else:
            records.append(valid)
    return records


def test_the_plain_python_contract_never_raises_on_fuzz():
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for value in fuzzed_records(2_000, seed=14):
        assert isinstance(record_violations(value, received_at=now), list)


@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.faults
def test_ten_thousand_fuzzed_records_never_stop_the_stream(spark, kafka, topic, tmp_path):
    records = fuzzed_records()
    send(kafka, topic, records)
    paths = LabPaths.under(tmp_path)
    run_available_now(spark, kafka, topic, paths, timeout=300)  # a failed query raises here

    bronze = spark.read.format("delta").load(paths.bronze)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    positions = [
        (row.kafka_partition, row.kafka_offset)
        for table in (bronze, quarantine)
        for row in table.select("kafka_partition", "kafka_offset").collect()
    ]
    assert len(positions) == len(set(positions)) == RECORDS, "in = Bronze + quarantine, once each"

    # The plain-Python contract agrees with Spark on every quarantined record: the same verdict
    # on the value as a whole, and the same fields at fault. (Known differences in wording: Spark
    # reads a JSON array in a string field as its text, "[]"; and on a value it cannot read as a
    # JSON object it may list field rules too, where Python stops at the first reason.)
    disagreements = []
    for row in quarantine.where("raw_value IS NOT NULL").collect():
        python = record_violations(row.raw_value.encode(), received_at=row.kafka_ingest_ts)
        unreadable = "value is not a JSON object"
        agree = (
            unreadable in row.reasons
            if unreadable in python
            else subjects(python) == subjects(row.reasons)
        )
        if not agree:
            disagreements.append((row.raw_value[:80], row.reasons, python))
    assert disagreements == [], f"{len(disagreements)} differ, e.g. {disagreements[:3]}"
