"""The producer through a real broker: counts, partitions, teaching modes, replay, errors, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest
from confluent_kafka import Consumer

from labsupport.config import PROJECT_ROOT, TOPIC_PARTITIONS, KafkaSettings
from labsupport.errors import LabError
from producer import (
    OrderFeed,
    contract_violations,
    load_scenario,
    produce_events,
    replay_scenario,
    send_events,
)
from producer.timefmt import parse_timestamp
from tests.conftest import free_port


def consume_all(
    settings: KafkaSettings, topic: str, expected: int, timeout: float = 30.0
) -> list[tuple[int, int, bytes | None, bytes, int]]:
    """(partition, offset, key, value, timestamp_ms) of every record, once ``expected`` arrived and nothing more comes."""
    consumer = Consumer(
        {
            **settings.client_config(),
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    records = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            enough = len(records) >= expected
            batch = consumer.consume(num_messages=5000, timeout=0.5 if enough else 1.0)
            for message in batch:
                assert message.error() is None, message.error()
                records.append(
                    (
                        message.partition(),
                        message.offset(),
                        message.key(),
                        message.value(),
                        message.timestamp()[1],
                    )
                )
            if enough and not batch:  # all expected records, and nothing more within 0.5 s
                break
    finally:
        consumer.close()
    return sorted(records)


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as an unsigned 32-bit int."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    tail = length & ~3
    extra = length % 4
    if extra == 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


def java_partition(key: bytes) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % TOPIC_PARTITIONS


def test_murmur2_matches_kafkas_own_test_vectors():
    # from Kafka's UtilsTest.testMurmur2 (signed ints there)
    assert murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == -985981536 & 0xFFFFFFFF
    assert murmur2(b"abc") == 479470107


@pytest.mark.kafka
def test_every_record_produced_is_consumed_on_the_partition_of_its_key(kafka, topic):
    stats = produce_events(kafka, topic, rate=20_000, count=3_000, seed=5, progress=False)
    assert (stats.sent, stats.acknowledged, stats.failed) == (3_000, 3_000, 0)
    records = consume_all(kafka, topic, 3_000)
    assert len(records) == 3_000
    partitions_of_order: dict[bytes, set[int]] = defaultdict(set)
    for partition, _, key, value, _ in records:
        event = json.loads(value)
        assert key == event["order_id"].encode()
        assert partition == java_partition(key), "not the partition Java clients and Spark use"
        assert contract_violations(value) == []
        partitions_of_order[key].add(partition)
    assert {len(partitions) for partitions in partitions_of_order.values()} == {1}
    assert len({partition for partition, *_ in records}) == TOPIC_PARTITIONS
    # the seed reproduces the orders: the same ids a seeded OrderFeed generates, in each partition's order
    feed = OrderFeed(seed=5)
    expected_keys = [feed.next_record(0)[0] for _ in range(3_000)]
    for partition in range(TOPIC_PARTITIONS):
        in_kafka = [key for p, _, key, _, _ in records if p == partition]
        assert in_kafka == [key for key in expected_keys if java_partition(key) == partition]


@pytest.mark.kafka
def test_duplicates_and_malformed_records_arrive_as_counted(kafka, topic):
    stats = produce_events(
        kafka,
        topic,
        rate=20_000,
        count=4_000,
        seed=7,
        duplicate_fraction=0.1,
        malformed_fraction=0.1,
        progress=False,
    )
    assert stats.sent == stats.acknowledged == 4_000
    originals = stats.sent - stats.duplicates
    assert stats.duplicates / originals == pytest.approx(0.1, abs=0.03)
    assert stats.malformed / originals == pytest.approx(0.1, abs=0.03)
    records = consume_all(kafka, topic, 4_000)
    assert len(records) == 4_000
    duplicates = malformed = 0
    previous: dict[int, tuple] = {}
    for partition, _, key, value, _ in records:
        if previous.get(partition) == (key, value):  # a copy follows its original directly
            duplicates += 1
        elif contract_violations(value):
            malformed += 1
        previous[partition] = (key, value)
    assert (duplicates, malformed) == (stats.duplicates, stats.malformed)


@pytest.mark.kafka
def test_late_events_carry_old_event_times_and_arrive_out_of_order(kafka, topic):
    stats = produce_events(
        kafka,
        topic,
        rate=5_000,
        count=1_000,
        seed=3,
        late_fraction=0.25,
        lateness="12m",
        progress=False,
    )
    records = consume_all(kafka, topic, 1_000)
    delays = [
        timestamp_ms / 1000 - parse_timestamp(json.loads(value)["event_timestamp"]).timestamp()
        for _, _, _, value, timestamp_ms in records
    ]
    late = [delay for delay in delays if delay > 60]
    assert len(late) == stats.late
    assert stats.late / 1_000 == pytest.approx(0.25, abs=0.05)
    assert all(360 <= delay <= 1080 + 5 for delay in late)
    assert abs(sum(delay > 600 for delay in late) - stats.late_beyond_watermark) <= 2
    assert 0 < stats.late_beyond_watermark < stats.late  # some inside the watermark, some beyond
    out_of_order = sum(
        1
        for (p1, _, _, v1, _), (p2, _, _, v2, _) in pairwise(records)
        if p1 == p2 and json.loads(v2)["event_timestamp"] < json.loads(v1)["event_timestamp"]
    )
    assert out_of_order > 0


@pytest.mark.kafka
def test_the_rate_holds_on_its_schedule(kafka, topic):
    stats = produce_events(kafka, topic, rate=400, count=600, progress=False)
    assert stats.rate == pytest.approx(400, rel=0.05)
    assert stats.elapsed_s == pytest.approx(1.5, abs=0.1)
    slow = produce_events(kafka, topic, rate=2, count=3, progress=False)
    assert slow.elapsed_s == pytest.approx(1.5, abs=0.1)


@pytest.mark.kafka
def test_replay_sends_a_scenario_exactly_in_order_phase_by_phase(kafka, topic):
    scenario = load_scenario("too_late")
    first = replay_scenario(kafka, topic, scenario, phase=1)
    assert (first.sent, first.acknowledged, first.late) == (
        len(scenario.phases[0]),
        len(scenario.phases[0]),
        0,
    )
    second = replay_scenario(kafka, topic, "malformed")
    malformed = load_scenario("malformed")
    assert second.malformed == len(malformed.expecting("quarantine"))
    sent = scenario.phases[0] + malformed.records
    records = consume_all(kafka, topic, len(sent))
    assert len(records) == len(sent)
    for partition in range(TOPIC_PARTITIONS):
        in_kafka = [(key, value) for p, _, key, value, _ in records if p == partition]
        in_file = [
            (record.key, record.value)
            for record in sent
            if record.key is not None and java_partition(record.key) == partition
        ]
        assert in_kafka == in_file  # same bytes (so the same event times), same order


@pytest.mark.kafka
def test_replay_counts_the_late_event_of_phase_two(kafka, topic):
    stats = replay_scenario(kafka, topic, load_scenario("window_boundary"))
    assert (stats.sent, stats.late, stats.failed) == (6, 2, 0)
    phase_two = replay_scenario(kafka, topic, "too_late", phase=2)
    assert (phase_two.sent, phase_two.late) == (1, 1)  # late against phase 1's newest event
    duplicates = replay_scenario(kafka, topic, load_scenario("duplicates"))
    assert duplicates.duplicates == 2


@pytest.mark.kafka
def test_send_events_sends_given_events_keyed_by_order_id(kafka, topic):
    start = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
    feed = OrderFeed(seed=8)
    events = [feed.next_event(now=start + timedelta(seconds=index)) for index in range(20)]
    assert send_events(kafka, topic, events) == 20
    records = consume_all(kafka, topic, 20)
    sent = {
        (event["order_id"].encode(), json.dumps(event, separators=(",", ":")).encode())
        for event in events
    }
    assert {(key, value) for _, _, key, value, _ in records} == sent
    assert all(partition == java_partition(key) for partition, _, key, _, _ in records)


@pytest.mark.kafka
def test_send_events_is_a_lab_error_when_events_are_not_acknowledged_in_time(kafka, topic):
    # a real broker, no time to answer: the producer batches for 20 ms before it sends at all
    events = [OrderFeed(seed=1).next_event() for _ in range(3)]
    with pytest.raises(
        LabError, match=r"^[1-3] of 3 events were not acknowledged within 0 s: check"
    ):
        send_events(kafka, topic, events, timeout=0)


@pytest.mark.kafka
def test_a_missing_topic_is_a_clear_error(kafka):
    with pytest.raises(LabError, match=r"Topic no-such-topic-\w+ does not exist on .*make start"):
        produce_events(
            kafka, f"no-such-topic-{uuid.uuid4().hex[:6]}", rate=5, count=1, progress=False
        )


def test_an_unreachable_broker_is_an_error_within_the_timeout():
    settings = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(
        LabError, match=r"did not answer within 3 s .*Connection refused.*make start"
    ):
        produce_events(settings, "order-events", rate=5, count=1, progress=False, connect_timeout=3)
    assert time.monotonic() - started < 6


def run_cli(
    *args: str, env: dict | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_the_cli_reports_an_unreachable_broker_in_one_line_and_exits_non_zero():
    started = time.monotonic()
    result = run_cli(
        "-m", "producer.order_producer", "--bootstrap-servers", f"127.0.0.1:{free_port()}",
        "--connect-timeout", "2", "--count", "1",
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("error: Kafka at 127.0.0.1:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0"], "--rate: '0' must be a number above 0"),
        (["--rate", "fast"], "--rate: 'fast' is not a number"),
        (["--count", "-1"], "--count: '-1' must be 0 or more"),
        (["--duplicate-fraction", "1.5"], "must be a fraction between 0 and 1"),
        (["--lateness", "soon"], "not a duration"),
        (["--phase", "2"], "--phase needs --scenario NAME"),
    ],
)
def test_bad_arguments_get_a_one_line_message(args, message, capsys):
    from producer.order_producer import main

    try:
        code = main(args)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error
    assert len(error.strip().splitlines()) == 1


def test_list_scenarios_needs_no_broker(capsys):
    from producer.order_producer import main

    assert main(["--list-scenarios", "--bootstrap-servers", "127.0.0.1:1"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed][:3] == [
        "on_time",
        "late_within_tolerance",
        "too_late",
    ]


@pytest.mark.kafka
def test_the_cli_runs_as_a_script_and_never_prints_credentials(kafka, topic):
    result = run_cli(
        "producer/order_producer.py", "--bootstrap-servers", kafka.bootstrap_servers,
        "--topic", topic, "--count", "5", "--rate", "50", "--seed", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "sent 5 · acknowledged 5 · failed 0" in result.stdout
    assert len(consume_all(kafka, topic, 5)) == 5
    secret = f"pw-{uuid.uuid4().hex}"
    refused = run_cli(
        "-m", "producer.order_producer", "--topic", topic, "--count", "1",
        "--connect-timeout", "2",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "KAFKA_SASL_USERNAME": "learner",
            "KAFKA_SASL_PASSWORD": secret,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        },
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ")
    assert secret not in refused.stdout + refused.stderr


@pytest.mark.kafka
def test_ctrl_c_flushes_and_every_acknowledged_record_is_in_kafka(kafka, topic):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "producer.order_producer",
            "--bootstrap-servers",
            kafka.bootstrap_servers,
            "--topic",
            topic,
            "--rate",
            "300",
            "--no-progress",
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not consume_all(kafka, topic, 1, timeout=2) and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    summary = next(line for line in out.splitlines() if line.startswith("sent "))
    assert re.search(r"^Order ids to look up: [0-9a-f-]{36}, [0-9a-f-]{36} ", out, re.M), out
    sent = int(summary.split(" · ")[0].removeprefix("sent ").replace(",", ""))
    assert sent > 0 and f"acknowledged {sent:,} · failed 0" in summary
    assert len(consume_all(kafka, topic, sent)) == sent


def test_the_event_time_of_a_generated_event_is_now():
    event = OrderFeed(seed=1).next_event()
    moment = parse_timestamp(event["event_timestamp"])
    assert abs(datetime.now(timezone.utc) - moment) < timedelta(seconds=5)


@pytest.mark.kafka
def test_a_background_producer_stops_on_its_event_and_flushes(kafka, topic):
    import threading

    stop, result = threading.Event(), {}
    worker = threading.Thread(
        target=lambda: result.update(
            stats=produce_events(kafka, topic, rate=200, progress=False, stop_event=stop)
        )
    )
    worker.start()
    time.sleep(1.0)
    stop.set()
    worker.join(timeout=30)
    stats = result["stats"]
    assert stats.interrupted and stats.sent > 50
    assert stats.acknowledged == stats.sent
    assert len(consume_all(kafka, topic, stats.sent)) == stats.sent
