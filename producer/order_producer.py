"""The order-event producer: ``python -m producer.order_producer`` (what ``make produce`` runs).

Publishes the design's e-commerce order feed to Kafka — 5 events/s by default — with a live
progress line (sent, acknowledged, failed, actual rate), or replays a recorded scenario::

    python -m producer.order_producer --rate 50 --duration 60
    python -m producer.order_producer --late-fraction 0.2 --lateness 12m --malformed-fraction 0.05
    python -m producer.order_producer --list-scenarios
    python -m producer.order_producer --scenario too_late --phase 1

The notebooks use the same functions, from the package (``from producer import produce_events,
replay_scenario, ...``); this module only reads the command line.
Bootstrap servers and SASL credentials come from ``KAFKA_*`` variables (never printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

if (
    not __package__
):  # run as a file (python producer/order_producer.py): make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from labsupport.interpreter import PRODUCER_PACKAGES, exit_unless_ready

    exit_unless_ready("producer.order_producer", PRODUCER_PACKAGES)

from labsupport.arguments import OneLineParser, argument, at_least_one, count, duration, positive
from labsupport.config import EVENTS_PER_SECOND, TOPIC, TRIGGER_INTERVAL, KafkaSettings
from labsupport.durations import AVAILABLE_NOW, parse_duration
from labsupport.errors import LabError
from producer.feed import DEFAULT_CUSTOMERS
from producer.malformed import MALFORMED_KINDS
from producer.modes import DEFAULT_LATENESS, is_fraction
from producer.publish import produce_events
from producer.replay import replay_scenario
from producer.scenarios import list_scenarios, load_scenario

__all__ = ["build_parser", "main"]

T = TypeVar("T")

#: Between two phases of a scenario the CLI waits one trigger interval plus a margin, so the
#: running pipeline processes phase 1 (and advances its watermark) before phase 2 arrives.
#: (With ``LAB_TRIGGER=available-now`` nothing runs on its own between phases: just the margin.)
DEFAULT_PHASE_GAP = (
    0 if TRIGGER_INTERVAL == AVAILABLE_NOW else parse_duration(TRIGGER_INTERVAL)
) + 15


_fraction = argument(float, is_fraction, "a fraction between 0 and 1", "a number")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m producer.order_producer",
        description="Publish the lab's order-event feed to Kafka, or replay a recorded scenario.",
        epilog="Ctrl-C stops cleanly: the producer flushes and prints what was acknowledged.",
    )
    parser.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT",
        help="Kafka address (default: KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092)",
    )
    parser.add_argument(
        "--topic", default=TOPIC, metavar="NAME", help=f"topic to publish to (default {TOPIC})"
    )
    feed = parser.add_argument_group("the feed")
    feed.add_argument(
        "--rate",
        metavar="N",
        type=positive,
        default=EVENTS_PER_SECOND,
        help=f"records per second (default {EVENTS_PER_SECOND:g})",
    )
    feed.add_argument(
        "--count",
        type=count,
        metavar="N",
        help="stop after this many records (with --duration: whichever first)",
    )
    feed.add_argument(
        "--duration", type=duration, metavar="TIME", help="stop after this long (90, 90s, 2m)"
    )
    feed.add_argument(
        "--seed", type=int, metavar="N", help="make the feed reproducible (same orders)"
    )
    feed.add_argument(
        "--customers",
        metavar="N",
        type=at_least_one,
        default=DEFAULT_CUSTOMERS,
        help=f"size of the customer pool (default {DEFAULT_CUSTOMERS})",
    )
    modes = parser.add_argument_group("teaching modes (combinable)")
    modes.add_argument(
        "--late-fraction",
        metavar="F",
        type=_fraction,
        default=0.0,
        help="fraction of events whose event time is set back (sent late, out of order)",
    )
    modes.add_argument(
        "--lateness",
        metavar="TIME",
        type=duration,
        default=DEFAULT_LATENESS,
        help="how late: each late event is set back 0.5× to 1.5× this (default 12m)",
    )
    modes.add_argument(
        "--duplicate-fraction",
        metavar="F",
        type=_fraction,
        default=0.0,
        help="fraction of records sent twice, identical key and bytes (a producer retry)",
    )
    modes.add_argument(
        "--malformed-fraction",
        metavar="F",
        type=_fraction,
        default=0.0,
        help=f"fraction of records broken on purpose ({', '.join(MALFORMED_KINDS)})",
    )
    replay = parser.add_argument_group("recorded scenarios")
    replay.add_argument("--scenario", metavar="NAME", help="replay data/scenarios/NAME.json")
    replay.add_argument(
        "--phase", type=at_least_one, metavar="N", help="replay only this phase (from 1)"
    )
    replay.add_argument(
        "--phase-gap",
        metavar="TIME",
        type=duration,
        default=DEFAULT_PHASE_GAP,
        help=f"seconds to wait between phases (default {DEFAULT_PHASE_GAP:g}: one trigger + 15 s)",
    )
    replay.add_argument("--list-scenarios", action="store_true", help="list the scenarios")
    parser.add_argument("--no-progress", action="store_true", help="no live progress line")
    parser.add_argument(
        "--connect-timeout",
        metavar="TIME",
        type=duration,
        default=10.0,
        help="give up when Kafka does not answer within this long (default 10 s)",
    )
    return parser


def _list_scenarios() -> int:
    scenarios = list_scenarios()
    width = max((len(scenario.name) for scenario in scenarios), default=0)
    for scenario in scenarios:
        phases = f"{len(scenario.phases)} phase{'s' if len(scenario.phases) > 1 else ''}"
        print(
            f"{scenario.name:<{width}}  {len(scenario.records):>2} records, {phases}  {scenario.description}"
        )
    return 0


def _replay(args: argparse.Namespace, settings: KafkaSettings) -> int:
    scenario = load_scenario(args.scenario)
    numbers = [args.phase] if args.phase else list(range(1, len(scenario.phases) + 1))
    for position, number in enumerate(numbers):
        if position:
            print(
                f"waiting {args.phase_gap:g} s so the pipeline processes phase {number - 1} first",
                flush=True,
            )
            time.sleep(args.phase_gap)
        stats = replay_scenario(
            settings, args.topic, scenario, phase=number, connect_timeout=args.connect_timeout
        )
        print(
            f"{scenario.name} phase {number}/{len(scenario.phases)}: {stats.acknowledged} "
            f"record{'' if stats.acknowledged == 1 else 's'} acknowledged on {args.topic} "
            f"(duplicates {stats.duplicates}, malformed "
            f"{stats.malformed}, out of event-time order {stats.late})",
            flush=True,
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.phase and not args.scenario:
        print("error: --phase needs --scenario NAME", file=sys.stderr)
        return 2
    settings = KafkaSettings.from_env(args.bootstrap_servers)
    try:
        if args.list_scenarios:
            return _list_scenarios()
        if args.scenario:
            return _replay(args, settings)
        stats = produce_events(
            settings,
            args.topic,
            rate=args.rate,
            count=args.count,
            duration=args.duration,
            seed=args.seed,
            late_fraction=args.late_fraction,
            lateness=args.lateness,
            duplicate_fraction=args.duplicate_fraction,
            malformed_fraction=args.malformed_fraction,
            customers=args.customers,
            progress=not args.no_progress,
            connect_timeout=args.connect_timeout,
        )
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if args.no_progress:
        print(stats.line(), flush=True)
    order_ids = stats.order_ids()
    if order_ids:
        print(
            f"Order ids to look up: {', '.join(order_ids)} (`make where ID={order_ids[0]}` "
            "once the pipeline has read them)",
            flush=True,
        )
    if stats.failed:
        print(
            f"error: {stats.failed:,} of {stats.sent:,} records were not delivered "
            f"({stats.last_error})",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
