"""The generated feed without Kafka: distributions over 100k seeded events, the contract, the modes."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from labsupport.config import KafkaSettings
from labsupport.durations import parse_duration
from labsupport.errors import LabError
from labsupport.schema import EVENT_FIELDS, EVENT_TYPES, PRODUCT_CATEGORIES, REGION_WEIGHTS
from producer import (
    MALFORMED_KINDS,
    OrderFeed,
    contract_violations,
    encode_event,
    event_key,
    feed_events,
    load_catalogue,
    malformed_record,
    produce_events,
)
from producer.modes import (
    BEYOND_WATERMARK,
    DUPLICATE,
    LATE,
    MALFORMED,
    TeachingModes,
    feed_records,
)
from producer.pacing import MAX_CHUNK, Pacer
from producer.timefmt import format_timestamp, parse_timestamp

START = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
N = 100_000


@pytest.fixture(scope="module")
def events() -> list[dict]:
    """100k events from one seeded feed, 10 ms apart."""
    feed = OrderFeed(seed=2026)
    start_ms = int(START.timestamp() * 1000)
    return [feed.next_event_at_ms(start_ms + 10 * i) for i in range(N)]


@pytest.fixture(scope="module")
def placed(events) -> list[dict]:
    return [event for event in events if event["event_type"] == "ORDER_PLACED"]


def test_the_catalogue_has_eight_products_in_the_contract_categories():
    products = load_catalogue()
    assert len(products) == 8
    assert {product.product_category for product in products} == set(PRODUCT_CATEGORIES)
    assert all(product.base_price > 0 for product in products)


def test_every_event_has_exactly_the_contract_fields_and_follows_it(events):
    assert all(tuple(event) == EVENT_FIELDS for event in events)
    broken = [event for event in events[::10] if contract_violations(encode_event(event))]
    assert broken == []


def test_region_weights_match_the_design(placed):
    shares = Counter(event["region"] for event in placed)
    for region, weight in REGION_WEIGHTS.items():
        assert shares[region] / len(placed) == pytest.approx(weight, abs=0.01), region


def test_event_types_are_placed_cancelled_updated_3_1_1(events):
    counts = Counter(event["event_type"] for event in events)
    assert set(counts) == set(EVENT_TYPES)
    assert counts["ORDER_PLACED"] / N == pytest.approx(0.6, abs=0.01)
    assert counts["ORDER_CANCELLED"] / N == pytest.approx(0.2, abs=0.01)
    assert counts["ORDER_UPDATED"] / N == pytest.approx(0.2, abs=0.01)


def test_unit_prices_stay_within_15_percent_and_use_the_whole_band(placed):
    base = {product.product_id: product.base_price for product in load_catalogue()}
    ratios = [event["unit_price"] / base[event["product_id"]] for event in placed]
    assert min(ratios) >= 0.85 - 1e-9
    assert max(ratios) <= 1.15 + 1e-9
    assert min(ratios) < 0.86 and max(ratios) > 1.14  # the whole ±15 % is used, not a narrow band
    assert all(round(event["unit_price"], 2) == event["unit_price"] for event in placed)


def test_totals_are_unit_price_times_quantity_rounded_to_cents(events):
    assert all(
        event["total_price"] == round(event["unit_price"] * event["quantity"], 2)
        for event in events
    )
    quantities = Counter(event["quantity"] for event in events)
    assert sorted(quantities) == [1, 2, 3, 4]


def test_products_are_consistent_with_the_catalogue(placed):
    catalogue = {product.product_id: product for product in load_catalogue()}
    seen = Counter(event["product_id"] for event in placed)
    assert set(seen) == set(catalogue)
    for event in placed[:1000]:
        product = catalogue[event["product_id"]]
        assert (event["product_name"], event["product_category"]) == (
            product.product_name,
            product.product_category,
        )


def test_customers_repeat_and_a_few_loyal_ones_order_often(placed):
    orders_per_customer = Counter(event["customer_id"] for event in placed)
    assert len(orders_per_customer) <= 500
    seen: set[str] = set()
    repeats = 0
    for event in placed:
        repeats += event["customer_id"] in seen
        seen.add(event["customer_id"])
    assert repeats / len(placed) > 0.95
    top_tenth = sum(count for _, count in orders_per_customer.most_common(50))
    assert top_tenth / len(placed) > 0.2  # uniform customers would give 0.1


def test_updates_and_cancellations_refer_to_earlier_orders(events):
    orders: dict[str, dict] = {}
    cancelled: set[str] = set()
    for event in events:
        order_id = event["order_id"]
        if event["event_type"] == "ORDER_PLACED":
            assert order_id not in orders, "an order id was reused"
            assert uuid.UUID(order_id).version == 4
            orders[order_id] = event
            continue
        assert order_id in orders, "an update or cancellation of an order never placed"
        assert order_id not in cancelled, "an event for an order already cancelled"
        original = orders[order_id]
        for field in ("customer_id", "product_id", "region", "unit_price"):
            assert event[field] == original[field]
        if event["event_type"] == "ORDER_UPDATED":
            assert event["quantity"] != original["quantity"]
            orders[order_id] = event
        else:
            cancelled.add(order_id)


def test_a_seed_reproduces_the_feed_and_another_seed_does_not():
    first, again, other = OrderFeed(seed=11), OrderFeed(seed=11), OrderFeed(seed=12)
    run = [first.next_event(now=START) for _ in range(500)]
    assert run == [again.next_event(now=START) for _ in range(500)]
    assert run != [other.next_event(now=START) for _ in range(500)]


def test_next_record_is_the_key_and_the_encoded_event():
    as_dicts, as_bytes = OrderFeed(seed=3), OrderFeed(seed=3)
    start_ms = int(START.timestamp() * 1000)
    for i in range(20_000):
        event = as_dicts.next_event_at_ms(start_ms + 7 * i)
        assert as_bytes.next_record(start_ms + 7 * i) == (event_key(event), encode_event(event))
    value = encode_event(event)
    assert json.loads(value) == event
    assert b'": ' not in value and b'", "' not in value  # compact: no spaces after : and ,


def test_event_timestamps_are_utc_with_milliseconds_and_z():
    feed = OrderFeed(seed=1)
    moment = datetime(2026, 11, 26, 14, 3, 27, 512_999, tzinfo=timezone.utc)
    assert feed.next_event(now=moment)["event_timestamp"] == "2026-11-26T14:03:27.512Z"
    other_zone = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert feed.next_event(now=other_zone)["event_timestamp"] == "2026-11-26T14:03:27.512Z"
    assert feed.next_event(now=moment.replace(tzinfo=None))["event_timestamp"].endswith("27.512Z")
    clock = parse_timestamp(feed.next_event()["event_timestamp"])
    assert abs(clock - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert format_timestamp(datetime(2026, 1, 15, 10, 9, 59, 999_000)) == "2026-01-15T10:09:59.999Z"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12m", 720), ("90", 90), ("90s", 90), ("1m30s", 90), ("10 minutes", 600), ("0.5h", 1800)],
)
def test_durations_are_read_as_learners_type_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "12q", "m", "-5", "ten minutes"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


# --- malformed records ---------------------------------------------------------------------------
EXPECTED_REASON = {
    "not_json": ("value is not a JSON object",),
    "truncated": ("value is not a JSON object",),
    "wrong_types": (
        "quantity is null or not an integer",
        "unit_price is null or not a number",
        "event_timestamp is null or not an ISO-8601 timestamp",
    ),
    "missing_fields": ("missing field",),
    "unknown_event_type": ("unknown event_type",),
    "unknown_region": ("unknown region",),
    "negative_quantity": ("quantity must be at least 1",),
    "bad_total": ("total_price is not unit_price × quantity",),
    "not_utf8": ("value is not valid UTF-8",),
}


def test_every_malformed_kind_is_named_and_tested():
    assert set(MALFORMED_KINDS) == set(EXPECTED_REASON)


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_each_malformed_kind_breaks_the_contract_the_way_it_says(kind):
    feed, rng = OrderFeed(seed=5), random.Random(kind)
    variants = set()
    for _ in range(300):
        value = malformed_record(kind, feed.next_event(now=START), rng)
        reasons = contract_violations(value)
        assert any(
            reason.startswith(expected) for reason in reasons for expected in EXPECTED_REASON[kind]
        ), (kind, value, reasons)
        variants.add(tuple(reasons))
    if kind == "wrong_types":
        assert len(variants) == 3  # quantity, unit_price and event_timestamp variants all occur


def test_an_unknown_malformed_kind_is_refused():
    with pytest.raises(ValueError, match="unknown malformed kind"):
        malformed_record("slightly_off", {}, random.Random(1))


# --- teaching modes ------------------------------------------------------------------------------
CLOCK_MS = int(START.timestamp() * 1000)


def take(records, n: int) -> list[tuple[bytes, bytes, int]]:
    return [next(records) for _ in range(n)]


def test_late_events_are_set_back_around_the_chosen_lateness():
    modes = TeachingModes(late_fraction=0.2, lateness=720)
    records = take(
        feed_records(OrderFeed(seed=1), modes, seed=1, clock_ms=lambda: CLOCK_MS), 20_000
    )
    late = [record for record in records if record[2] & LATE]
    assert len(late) / len(records) == pytest.approx(0.2, abs=0.02)
    for _, value, tags in records:
        event_time = parse_timestamp(json.loads(value)["event_timestamp"])
        delay = (START - event_time).total_seconds()
        if tags & LATE:
            assert 360 <= delay <= 1080
            assert bool(tags & BEYOND_WATERMARK) == (delay > 600)
        else:
            assert delay == 0
    beyond = sum(1 for record in late if record[2] & BEYOND_WATERMARK)
    assert 0.2 < beyond / len(late) < 0.8  # some inside the 10-minute watermark, some beyond


def test_duplicates_repeat_key_and_bytes_and_leave_the_feed_unchanged():
    modes = TeachingModes(duplicate_fraction=0.1)
    records = take(
        feed_records(OrderFeed(seed=4), modes, seed=4, clock_ms=lambda: CLOCK_MS), 10_000
    )
    copies = [i for i, record in enumerate(records) if record[2] & DUPLICATE]
    assert len(copies) / (len(records) - len(copies)) == pytest.approx(0.1, abs=0.02)
    assert all(records[i][:2] == records[i - 1][:2] for i in copies)
    originals = [record[:2] for record in records if not record[2] & DUPLICATE]
    plain = feed_records(OrderFeed(seed=4), TeachingModes(), clock_ms=lambda: CLOCK_MS)
    assert originals == [record[:2] for record in take(plain, len(originals))]


def test_malformed_records_break_the_contract_and_the_others_keep_it():
    modes = TeachingModes(malformed_fraction=0.1)
    records = take(feed_records(OrderFeed(seed=9), modes, seed=9, clock_ms=lambda: CLOCK_MS), 5_000)
    flagged = [record for record in records if record[2] & MALFORMED]
    assert len(flagged) / len(records) == pytest.approx(0.1, abs=0.02)
    assert all(contract_violations(value) for _, value, _ in flagged)
    assert not any(contract_violations(value) for _, value, tags in records if not tags)


def test_modes_refuse_fractions_outside_0_to_1():
    with pytest.raises(ValueError, match="late_fraction"):
        TeachingModes(late_fraction=1.5)
    with pytest.raises(ValueError, match="lateness"):
        TeachingModes(lateness=0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"late_fraction": 1.5}, "late_fraction must be between 0 and 1, not 1.5"),
        ({"duplicate_fraction": -0.1}, "duplicate_fraction must be between 0 and 1, not -0.1"),
        ({"malformed_fraction": "lots"}, "malformed_fraction must be a number, not 'lots'"),
        ({"late_fraction": float("nan")}, "late_fraction must be between 0 and 1, not nan"),
        ({"lateness": "soon"}, "not a duration: 'soon'"),
    ],
)
def test_produce_events_refuses_bad_modes_with_one_line_before_connecting(arguments, message):
    unreachable = KafkaSettings(bootstrap_servers="127.0.0.1:1")  # never contacted
    with pytest.raises(LabError, match="^" + message.replace("(", r"\(")):
        produce_events(unreachable, "order-events", rate=5, count=1, progress=False, **arguments)


def test_modes_read_fractions_given_as_text():
    assert TeachingModes(late_fraction="0.25", duplicate_fraction=1).late_fraction == 0.25
    assert TeachingModes(duplicate_fraction=1).duplicate_fraction == 1.0


# --- pacing ---------------------------------------------------------------------------------------
def run_paced(pacer: Pacer, stall: tuple[float, float] | None = None) -> list[tuple[float, int]]:
    """Drive ``pacer`` as the producer does, on a simulated clock: ``(moment, records sent by then)``.

    Sending takes no time; waiting jumps to the moment :meth:`Pacer.wait` names (at most 0.1 s,
    as the producer polls). ``stall`` = (at, seconds): the clock jumps ahead once, a busy machine.
    """
    now, sends = pacer.start, []
    while (step := pacer.take(now)) is not None:
        if step:
            sends.append((now, pacer.sent))
            continue
        now += min(max(pacer.wait(now), 1e-9), 0.1)
        if stall is not None and now >= stall[0]:
            now, stall = now + stall[1], None
    sends.append((now, pacer.sent))
    return sends


@pytest.mark.parametrize(("rate", "count"), [(400, 600), (2, 3), (50_000, 75_000), (3.3, 5)])
def test_the_pacer_sends_each_record_at_its_slot_and_stops_after_the_last(rate, count):
    sends = run_paced(Pacer(rate, limit=count, start=100.0))
    assert sends[-1] == (pytest.approx(100.0 + count / rate), count)
    for moment, sent in sends:
        assert sent <= int((moment - 100.0) * rate) + 1  # never ahead of the schedule


def test_the_pacer_stops_at_the_duration():
    sends = run_paced(Pacer(100, duration=2.0, start=0.0))
    moment, sent = sends[-1]
    assert moment == pytest.approx(2.0) and 199 <= sent <= 201


def test_after_a_stall_the_pacer_catches_up_two_seconds_then_keeps_the_rate():
    pacer = Pacer(1_000, limit=10_000, start=0.0)
    sends = run_paced(pacer, stall=(1.0, 5.0))
    before = max(sent for moment, sent in sends if moment < 1.0)
    resumed = min(moment for moment, _ in sends if moment > 1.0)
    burst = max(sent for moment, sent in sends if moment == resumed)
    assert resumed == pytest.approx(6.0) and burst - before == 2_000  # two seconds' worth, not five
    assert pacer.origin == pytest.approx(3.0, abs=0.01)  # the schedule moved by the rest
    assert sends[-1][0] == pytest.approx(pacer.origin + 10.0)


@pytest.mark.parametrize(
    ("rate", "chunk"), [(1, 1), (5, 1), (150, 1), (50_000, 500), (10_000_000, MAX_CHUNK)]
)
def test_the_pacer_sends_about_ten_milliseconds_of_records_at_once(rate, chunk):
    assert Pacer(rate, start=0.0).chunk_size == chunk


def test_feed_events_spreads_seeded_events_over_the_minutes():
    start = datetime(2026, 1, 15, 10, 10, tzinfo=timezone.utc)
    events = feed_events(start, minutes=20, count=4, seed=5)
    assert [parse_timestamp(event["event_timestamp"]) for event in events] == [
        start + timedelta(minutes=5 * index) for index in range(4)
    ]
    assert events == feed_events(start, minutes=20, count=4, seed=5)
    assert all(contract_violations(encode_event(event)) == [] for event in events)
    assert feed_events(start, minutes=1, count=0) == []
