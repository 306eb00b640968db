"""The lab's command line: ``python -m labsupport <command>``.

Every problem a learner can fix is printed as one line naming the fix (a :class:`LabError`),
never as a stack trace; the exit code is then 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from labsupport.arguments import OneLineParser, at_least_one, duration, port, positive, trigger
from labsupport.config import (
    CHECKPOINT_ROOT,
    DEFAULT_BROKER_PORT,
    DELTA_ROOT,
    EVENTS_PER_SECOND,
    MAX_OFFSETS_PER_TRIGGER,
    STARTING_OFFSETS,
    TOPIC,
    TRIGGER_INTERVAL,
    KafkaSettings,
    LabPaths,
)
from labsupport.errors import LabError

__all__ = ["main"]


def _broker(args: argparse.Namespace) -> int:
    from labsupport.broker import EmbeddedBroker
    from labsupport.broker_login import SaslUser

    own = {f"127.0.0.1:{args.port}", f"localhost:{args.port}"}
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if args.action != "status" and bootstrap and bootstrap not in own:
        print(
            f"KAFKA_BOOTSTRAP_SERVERS={bootstrap} is set: the lab uses that cluster and "
            "does not start or stop its own broker."
        )
        return 0
    sasl = SaslUser.from_env() if args.action == "start" and args.sasl else None
    broker = EmbeddedBroker(port=args.port, sasl=sasl)
    if args.action == "start":
        was_running = broker.status().running
        started = time.monotonic()
        bootstrap = broker.start()
        login = "SASL_PLAINTEXT: PLAIN and SCRAM-SHA-512; " if sasl else ""
        if was_running:
            print(f"Kafka broker already running at {bootstrap}")
        else:
            print(
                f"Kafka broker started at {bootstrap} in {time.monotonic() - started:.1f} s "
                f"({login}logs: {broker.log_file})"
            )
        if sasl:
            print(
                "Clients log in as KAFKA_SASL_USERNAME with: export "
                f"KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_BOOTSTRAP_SERVERS={bootstrap}"
            )
    elif args.action == "stop":
        print("Kafka broker stopped" if broker.stop() else "Kafka broker was not running")
    else:
        print(broker.status())
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from labsupport.cluster import LabCluster

    cluster = LabCluster()
    if args.action == "start":
        started = time.monotonic()
        cluster.start()
        print(
            f"Kafka ({len(cluster.kafka_ports)} brokers) and Spark (a master, {cluster.workers} "
            f"workers) run, in {time.monotonic() - started:.0f} s. The lab's commands use them "
            "once you export:"
        )
        print(
            f"export KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers} "
            f"LAB_SPARK_MASTER={cluster.spark_master}"
        )
    elif args.action == "stop":
        stopped = cluster.stop()
        print(f"Stopped {', '.join(stopped)}." if stopped else "None of the clusters ran.")
    else:
        print("\n".join(str(process) for process in cluster.status()))
    return 0


def _topic(args: argparse.Namespace) -> int:
    from labsupport.topics import ensure_topic

    settings = KafkaSettings.from_env(args.bootstrap_servers)
    created = ensure_topic(settings, args.name)
    verb = "created" if created else "already exists"
    print(
        f"Topic {args.name} {verb} on {settings.bootstrap_servers} "
        "(3 partitions, LogAppendTime timestamps)"
    )
    return 0


def _setup(args: argparse.Namespace) -> int:
    from labsupport.jars import ensure_jars, verify_jars, write_checksums
    from labsupport.java import java_version, require_java
    from labsupport.versions import check_installed

    java = require_java()
    check_installed()
    print(f"Java {java_version(java)} at {java}")
    if args.lock:
        print(f"checksums of every jar pinned in {write_checksums()}")
    for group in ("spark", "broker"):
        jars = ensure_jars(group)  # type: ignore[arg-type]
        verify_jars(group, jars)  # type: ignore[arg-type]
        print(f"{group} jars: {len(jars)} in {jars[0].parent}, each matching its pinned SHA-256")
    return 0


def _reset(args: argparse.Namespace) -> int:
    from labsupport.broker import EmbeddedBroker
    from labsupport.folders import refuse_unless_lab_folder, remove_lab_folder
    from labsupport.lesson import lessons_dir  # the lessons' folders go with the broker's data

    targets = [(DELTA_ROOT, "LAB_DELTA_ROOT"), (CHECKPOINT_ROOT, "LAB_CHECKPOINT_ROOT")]
    broker = EmbeddedBroker()
    if args.broker:
        # the lessons' topics go with the broker's data, so their tables and checkpoints must too
        targets += [(broker.home / "data", "the broker's home"), (lessons_dir(), "LAB_LESSONS_DIR")]
    for target, variable in targets:  # every refusal before anything is stopped or deleted
        refuse_unless_lab_folder(target, variable)
    if not args.yes:
        if not sys.stdin.isatty():
            raise LabError("reset asks before it deletes, and there is no terminal: add --yes.")
        answer = input(f"Delete {', '.join(str(t) for t, _ in targets)}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing deleted.")
            return 0
    if args.broker and broker.stop():
        print("Kafka broker stopped")
    for target, variable in targets:
        if remove_lab_folder(target, variable):
            print(f"Deleted {target}")
    print("Reset done: the next run starts from an empty lab.")
    return 0


def _paths(args: argparse.Namespace) -> LabPaths:
    return LabPaths(Path(args.delta_root), Path(args.checkpoint_root))


def _stream_target(args: argparse.Namespace) -> tuple[KafkaSettings, str, LabPaths]:
    """The cluster, topic and paths of a streaming command; a bad --trigger fails here, before Spark."""
    from labsupport.runner import trigger_options

    trigger_options(args.trigger)
    return KafkaSettings.from_env(args.bootstrap_servers), args.topic, _paths(args)


def _pipeline(args: argparse.Namespace) -> int:
    from labsupport.commands import run_pipeline

    return run_pipeline(
        *_stream_target(args),
        trigger=args.trigger,
        starting_offsets=args.starting_offsets,
        max_offsets_per_trigger=args.max_offsets_per_trigger,
    )


def _gold(args: argparse.Namespace) -> int:
    from labsupport.commands import show_gold

    return show_gold(_paths(args), args.limit)


def _where(args: argparse.Namespace) -> int:
    from labsupport.commands import show_where

    return show_where(_paths(args), args.order_id)


def _sql(args: argparse.Namespace) -> int:
    from labsupport.commands import show_query

    return show_query(_paths(args), args.name, args.limit)


def _preflight(args: argparse.Namespace) -> int:
    from labsupport.preflight import run_preflight_cli

    return run_preflight_cli(args.bootstrap_servers, args.topic, spark=not args.no_spark)


def _run(args: argparse.Namespace) -> int:
    from labsupport.commands import run_lab

    return run_lab(
        *_stream_target(args),
        rate=args.rate,
        duration=args.duration,
        trigger=args.trigger,
    )


def _add_location_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delta-root", default=str(DELTA_ROOT), help="default: LAB_DELTA_ROOT or ./delta"
    )
    parser.add_argument(
        "--checkpoint-root",
        default=str(CHECKPOINT_ROOT),
        help="default: LAB_CHECKPOINT_ROOT or ./checkpoints",
    )


def _add_kafka_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap-servers",
        default=None,
        help="default: KAFKA_BOOTSTRAP_SERVERS, else the embedded broker",
    )
    parser.add_argument("--topic", default=TOPIC, help=f"default: KAFKA_TOPIC or {TOPIC}")
    parser.add_argument(
        "--trigger",
        type=trigger,
        default=TRIGGER_INTERVAL,
        help="an interval such as '30 seconds' (default: LAB_TRIGGER or the design's "
        "30 seconds), or 'available-now' to process what is there and exit",
    )


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m labsupport", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    setup = commands.add_parser("setup", help="check Java and resolve the JVM jars (once)")
    setup.add_argument(
        "--lock",
        action="store_true",
        help="pin the SHA-256 of every resolved jar (after a reviewed change of the jar pins)",
    )
    setup.set_defaults(run=_setup)

    broker = commands.add_parser("broker", help="start, stop or inspect the embedded Kafka broker")
    broker.add_argument("action", choices=["start", "stop", "status"])
    broker.add_argument(
        "--port",
        type=port,
        default=DEFAULT_BROKER_PORT,
        help=f"listener port (default {DEFAULT_BROKER_PORT}; the controller uses port+1)",
    )
    broker.add_argument(
        "--sasl",
        action="store_true",
        help="start: a SASL_PLAINTEXT listener accepting KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD "
        "with PLAIN and SCRAM-SHA-512",
    )
    broker.set_defaults(run=_broker)

    cluster = commands.add_parser(
        "cluster", help="start, stop or inspect three Kafka brokers and a Spark standalone cluster"
    )
    cluster.add_argument("action", choices=["start", "stop", "status"])
    cluster.set_defaults(run=_cluster)

    topic = commands.add_parser("topic", help="create the lab's topic (idempotent)")
    topic.add_argument("action", choices=["create"])
    topic.add_argument("--name", default=TOPIC)
    topic.add_argument(
        "--bootstrap-servers",
        default=None,
        help="default: KAFKA_BOOTSTRAP_SERVERS, else the embedded broker",
    )
    topic.set_defaults(run=_topic)

    pipeline = commands.add_parser(
        "pipeline", help="run the streaming pipeline: Kafka -> Bronze, quarantine, Gold"
    )
    pipeline.add_argument("action", choices=["run"])
    _add_kafka_options(pipeline)
    _add_location_options(pipeline)
    pipeline.add_argument(
        "--starting-offsets",
        default=STARTING_OFFSETS,
        choices=["earliest", "latest"],
        help="first run only (then the checkpoint decides); default: earliest, so "
        "events produced before the job started are not missed",
    )
    pipeline.add_argument(
        "--max-offsets-per-trigger",
        type=at_least_one,
        default=MAX_OFFSETS_PER_TRIGGER,
        help=f"cap on records per micro-batch (default {MAX_OFFSETS_PER_TRIGGER})",
    )
    pipeline.set_defaults(run=_pipeline)

    gold = commands.add_parser("gold", help="print the newest Gold windows")
    gold.add_argument("--limit", type=at_least_one, default=10)
    _add_location_options(gold)
    gold.set_defaults(run=_gold)

    where = commands.add_parser(
        "where", help="where did my event go? (Bronze, quarantine, Gold, dropped late)"
    )
    where.add_argument(
        "order_id", nargs="?", help="an order id (without one: the orders Bronze received last)"
    )
    _add_location_options(where)
    where.set_defaults(run=_where)

    sql = commands.add_parser("sql", help="run one of the design's SQL checks against the tables")
    sql.add_argument("name", choices=["bronze_check", "gold_revenue"])
    sql.add_argument("--limit", type=at_least_one, default=20)
    _add_location_options(sql)
    sql.set_defaults(run=_sql)

    preflight = commands.add_parser(
        "preflight", help="check the setup; name every problem with its fix"
    )
    preflight.add_argument("--bootstrap-servers", default=None)
    preflight.add_argument("--topic", default=TOPIC)
    preflight.add_argument(
        "--no-spark", action="store_true", help="skip the checks that start Spark"
    )
    preflight.set_defaults(run=_preflight)

    run = commands.add_parser(
        "run", help="producer + pipeline + live Gold view (what `make run` runs)"
    )
    _add_kafka_options(run)
    _add_location_options(run)
    run.add_argument(
        "--rate", type=positive, default=EVENTS_PER_SECOND, help="events per second (default 5)"
    )
    run.add_argument(
        "--duration", type=duration, default=None, help="stop after this long (90, 90s, 2m)"
    )
    run.set_defaults(run=_run)

    reset = commands.add_parser(
        "reset", help="delete Delta tables and checkpoints (and broker data)"
    )
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.add_argument(
        "--broker",
        action="store_true",
        help="also stop the embedded broker and delete its data (topics, offsets)",
    )
    reset.set_defaults(run=_reset)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
