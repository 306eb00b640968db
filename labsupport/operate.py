"""Operating the pipeline: kill it, look inside its checkpoints, prove exactly once, measure lag.

Lessons 06 and 07 use these helpers; none of them changes what the pipeline computes.

- **A killable pipeline.** :func:`pipeline_process` runs ``python -m labsupport pipeline run`` as
  its own process group (the Python driver *and* its Spark JVM), so that
  :meth:`PipelineProcess.kill` can end both with ``SIGKILL`` — no ``finally``, no clean shutdown,
  exactly like a machine that loses power. What survives is what the checkpoint and the Delta log
  hold, and that is the point of lesson 06.
- **Inside a checkpoint.** :func:`checkpoint_tree` lists its folders; :func:`read_offsets` opens
  one ``offsets/N`` file. The protocol: a micro-batch first writes ``offsets/N`` (what it will
  read — the write-ahead log), then writes its output, then ``commits/N``. A batch with an
  offsets file but no commit file is replayed on restart, with the *same* offsets.
- **Proof from the tables.** :func:`exactly_once_report` checks Bronze and quarantine against the
  topic, record by record (each ``(partition, offset)`` once, none missing), and Gold against
  ``gold_windows`` recomputed in batch over Bronze.
- **The idempotency trap.** :func:`run_idempotent_copy` is the textbook ``foreachBatch`` writer
  made idempotent with Delta's ``txnAppId``/``txnVersion`` options — and shows what happens when
  a fresh checkpoint (batch ids from 0 again) meets an old ``txnAppId``.
- **Operating.** :func:`topic_offsets`, :func:`committed_offsets` and :func:`consumer_lag` (how
  far the query is behind the topic, per partition), :func:`delta_file_counts` (for OPTIMIZE and
  VACUUM), :func:`retention_check_disabled`, and :func:`mask_secrets` (print settings, never a
  password).

>>> starting_offsets_json("orders", {0: 12, 2: 7, 1: 9})
'{"orders": {"0": 12, "1": 9, "2": 7}}'
>>> mask_secrets({"sasl.username": "KEY", "sasl.password": "s3cret"})
{'sasl.username': 'KEY', 'sasl.password': '****'}
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from labsupport.config import PROJECT_ROOT, STARTING_OFFSETS, KafkaSettings
from labsupport.errors import LabError
from labsupport.runner import explain_failure, run_available_now  # for lessons 06 and 07
from labsupport.spark import quiet_spark_logs

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

    from labsupport.runner import LabPaths

__all__ = [
    "DeltaTransaction",
    "ExactlyOnceReport",
    "LagSample",
    "OffsetsFile",
    "PipelineProcess",
    "batch_ids",
    "checkpoint_tree",
    "committed_offsets",
    "consumer_lag",
    "delta_file_counts",
    "delta_transactions",
    "exactly_once_report",
    "explain_failure",
    "kill_process_group",
    "lag_sample",
    "mask_secrets",
    "pipeline_process",
    "quiet_spark_logs",
    "read_offsets",
    "recreate_topic",
    "retention_check_disabled",
    "run_available_now",
    "run_idempotent_copy",
    "start_pipeline_process",
    "starting_offsets_json",
    "topic_end_offsets",
    "topic_offsets",
]

_SECRET_KEY = re.compile(r"password|secret", re.IGNORECASE)
#: greedy up to the last quote: a password may itself contain quotes (over-masking is safe)
_JAAS_PASSWORD = re.compile(r'(password=)".*"', re.DOTALL)


# --- A pipeline you can kill ---------------------------------------------------------------------
def batch_ids(checkpoint: str | Path, log: str = "commits") -> list[int]:
    """The micro-batch ids in a checkpoint's ``commits`` (done) or ``offsets`` (planned) log.

    Spark writes ``offsets/N`` before batch N runs and ``commits/N`` after its output is written,
    so ``batch_ids(cp, "offsets")`` may hold one more id than ``batch_ids(cp)``: a batch that was
    in flight when the process died, and that a restart runs again.
    """
    if log not in {"commits", "offsets"}:
        raise LabError(f"A checkpoint's logs are 'commits' and 'offsets', not {log!r}.")
    folder = Path(checkpoint) / log
    return sorted(int(path.name) for path in folder.glob("[0-9]*") if path.name.isdigit())


def kill_process_group(process: subprocess.Popen, timeout: float = 30.0) -> int | None:
    """``SIGKILL`` ``process`` and every process of its group, then reap it; return its exit code.

    A process started with ``start_new_session=True`` leads its own group, so the group id is its
    pid and this reaches its children too (the Spark JVM of a PySpark driver). Calling it again,
    or on a process that already ended, is harmless.
    """
    with suppress(ProcessLookupError, PermissionError):  # the whole group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        raise LabError(
            f"Process {process.pid} did not end within {timeout:.0f} s of SIGKILL."
        ) from None


@dataclass
class PipelineProcess:
    """The pipeline running as a separate process group; see :func:`pipeline_process`."""

    process: subprocess.Popen
    log_file: Path
    paths: LabPaths

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the pipeline printed (its stdout and stderr go to :attr:`log_file`)."""
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def wait_for_commits(self, count: int, query: str = "bronze", timeout: float = 180.0) -> int:
        """Wait until ``query`` has committed at least ``count`` micro-batches; return how many.

        Bounded: raises :class:`LabError` (with the end of the log) when the process exits first
        or ``timeout`` seconds pass.
        """
        checkpoint = self.paths.checkpoint(query)
        deadline = time.monotonic() + timeout
        while (done := len(batch_ids(checkpoint))) < count:
            if not self.alive:
                raise LabError(
                    f"The pipeline exited with code {self.process.returncode} after {done} "
                    f"committed batches of {query}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise LabError(
                    f"{query} committed {done} of {count} batches within {timeout:.0f} s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.1)
        return done

    def wait_for_batch_in_flight(self, query: str = "bronze", timeout: float = 30.0) -> int | None:
        """Wait until ``query`` has started a batch it has not committed; return its id.

        "Started" means its ``offsets/N`` file is written but ``commits/N`` is not yet: the
        moment to pull the plug. None when no such batch shows up within ``timeout`` seconds
        (the topic has no more data, say) or the process ended.
        """
        checkpoint = self.paths.checkpoint(query)
        deadline = time.monotonic() + timeout
        while self.alive and time.monotonic() < deadline:
            in_flight = set(batch_ids(checkpoint, "offsets")) - set(batch_ids(checkpoint))
            if in_flight:
                return max(in_flight)
            time.sleep(0.05)
        return None

    def kill(self, timeout: float = 30.0) -> int | None:
        """``SIGKILL`` the whole process group (driver and JVM) and reap it: a crash, not a stop."""
        return kill_process_group(self.process, timeout)


def start_pipeline_process(
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths,
    *,
    trigger: str = "1 second",
    max_offsets_per_trigger: int | None = None,
    starting_offsets: str = STARTING_OFFSETS,
    log_file: str | Path | None = None,
) -> PipelineProcess:
    """Start ``python -m labsupport pipeline run`` in a new process group and return at once.

    Prefer :func:`pipeline_process`, which also kills it when the block ends. The process gets
    this process's environment (so SASL credentials stay in the environment, never on the command
    line); its output goes to ``log_file`` (default: ``pipeline-process.log`` beside the
    checkpoints).
    """
    log_path = (
        Path(log_file) if log_file else Path(paths.checkpoint_root).parent / "pipeline-process.log"
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "labsupport", "pipeline", "run",
        "--trigger", trigger,
        "--bootstrap-servers", settings.bootstrap_servers,
        "--topic", topic,
        "--delta-root", str(paths.delta_root),
        "--checkpoint-root", str(paths.checkpoint_root),
        "--starting-offsets", starting_offsets,
    ]  # fmt: skip
    if max_offsets_per_trigger:
        command += ["--max-offsets-per-trigger", str(max_offsets_per_trigger)]
    with log_path.open("ab") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: one killpg reaches the JVM too
        )
    return PipelineProcess(process, log_path, paths)


@contextmanager
def pipeline_process(
    settings: KafkaSettings,
    topic: str,
    paths: LabPaths,
    **options: object,
) -> Iterator[PipelineProcess]:
    """The pipeline as a separate process for the length of a ``with`` block, killed at its end.

    ``options`` are those of :func:`start_pipeline_process`. Whatever happens in the block, the
    process group is killed with ``SIGKILL`` and reaped when it ends (twice is harmless)::

        with pipeline_process(settings, topic, paths, max_offsets_per_trigger=25) as pipeline:
            pipeline.wait_for_commits(2, timeout=120)
            pipeline.kill()                      # mid-stream: batch 2 may be half done
    """
    running = start_pipeline_process(settings, topic, paths, **options)  # type: ignore[arg-type]
    try:
        yield running
    finally:
        running.kill()


# --- Inside a checkpoint ----------------------------------------------------------------------------
def _sort_key(path: Path) -> tuple[int, int | str]:
    return (0, int(path.name)) if path.name.isdigit() else (1, path.name)


def checkpoint_tree(checkpoint: str | Path, per_folder: int = 6) -> str:
    """A checkpoint's folders and files as text, at most ``per_folder`` names per folder.

    Hidden files (Spark's ``.crc`` checksums) are left out; numbers sort as numbers.
    """
    root = Path(checkpoint)
    if not root.exists():
        return f"{root}: no checkpoint here"
    lines = [f"{root.name}/"]

    def walk(folder: Path, depth: int) -> None:
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=_sort_key)
        files = [p for p in entries if p.is_file()]
        indent = "  " * depth
        if files:
            names = [p.name for p in files[:per_folder]]
            more = f" … (+{len(files) - per_folder} more)" if len(files) > per_folder else ""
            if folder == root:
                for path in files:
                    lines.append(f"{indent}{path.name:<12} {path.stat().st_size:>6} bytes")
            else:
                lines.append(f"{indent}files: {'  '.join(names)}{more}")
        for sub in (p for p in entries if p.is_dir()):
            lines.append(f"{indent}{sub.name}/")
            walk(sub, depth + 1)

    walk(root, 1)
    return "\n".join(lines)


@dataclass(frozen=True)
class OffsetsFile:
    """One ``offsets/N`` file: what micro-batch ``batch_id`` reads, and the watermark it ran with.

    ``text`` is the file as Spark wrote it: a version line (``v1``), a line of batch metadata
    (``batchWatermarkMs``, ``batchTimestampMs`` and the settings a query may not change across
    restarts), then one line per source: for Kafka, ``{"topic": {"partition": offset}}`` where
    each offset is the first one the batch does *not* read.
    """

    batch_id: int
    text: str
    metadata: dict
    sources: list[dict]

    @property
    def watermark(self) -> datetime:
        """The event-time watermark the batch ran with (naive UTC, as Spark returns times)."""
        millis = self.metadata.get("batchWatermarkMs", 0)
        return datetime.fromtimestamp(millis / 1000, tz=timezone.utc).replace(tzinfo=None)

    @property
    def end_offsets(self) -> dict[int, int]:
        """Partition → first offset not read by this batch, over every topic of the source."""
        offsets: dict[int, int] = {}
        for source in self.sources:
            for partitions in source.values():
                offsets.update({int(p): int(o) for p, o in partitions.items()})
        return dict(sorted(offsets.items()))


def read_offsets(checkpoint: str | Path, batch_id: int | None = None) -> OffsetsFile:
    """Open ``offsets/<batch_id>`` of a checkpoint (default: the newest planned batch)."""
    ids = batch_ids(checkpoint, "offsets")
    if not ids:
        raise LabError(f"{checkpoint} has no offsets files yet: no micro-batch has started.")
    batch_id = ids[-1] if batch_id is None else batch_id
    path = Path(checkpoint) / "offsets" / str(batch_id)
    if not path.exists():
        raise LabError(f"{path} does not exist; the planned batches are {ids}.")
    text = path.read_text()
    lines = text.splitlines()
    sources = [json.loads(line) for line in lines[2:] if line.strip() and line != "-"]
    return OffsetsFile(batch_id, text, json.loads(lines[1]), sources)


def committed_offsets(checkpoint: str | Path) -> dict[int, int]:
    """Partition → next offset to read, after the last *committed* batch ({} before the first).

    This is the query's position in the topic: everything before it is in the table.
    """
    done = batch_ids(checkpoint)
    return read_offsets(checkpoint, done[-1]).end_offsets if done else {}


# --- Kafka's side ---------------------------------------------------------------------------------------
def topic_offsets(
    settings: KafkaSettings, topic: str, timeout: float = 10.0
) -> dict[int, tuple[int, int]]:
    """Partition → (first offset still kept, end offset) from the broker: its *watermarks*.

    The end offset ("high watermark") is the offset the next record will get, so a partition
    holds ``end - first`` records.
    """
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            **settings.client_config(),
            "group.id": "streaming-lab-offset-probe",  # never subscribes, never commits
            "enable.auto.commit": False,
        }
    )
    try:
        described = consumer.list_topics(topic=topic, timeout=timeout).topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            raise LabError(f"Topic {topic} does not exist on {settings.bootstrap_servers}.")
        return {
            partition: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout)
            for partition in sorted(described.partitions)
        }
    finally:
        consumer.close()


def topic_end_offsets(settings: KafkaSettings, topic: str, timeout: float = 10.0) -> dict[int, int]:
    """Partition → end offset (the offset the next record will get)."""
    return {p: end for p, (_, end) in topic_offsets(settings, topic, timeout).items()}


def consumer_lag(settings: KafkaSettings, topic: str, checkpoint: str | Path) -> dict[int, int]:
    """Partition → records on the topic that the query has not committed yet.

    Lag = the topic's end offset − the query's committed offset (from its checkpoint). Spark's
    Kafka source does not commit offsets to a consumer group, so Kafka's own lag tools do not
    see a Structured Streaming query: its position lives in the checkpoint.
    """
    committed = committed_offsets(checkpoint)
    return {
        partition: end - committed.get(partition, first)
        for partition, (first, end) in topic_offsets(settings, topic).items()
    }


@dataclass(frozen=True)
class LagSample:
    """Freshness and lag at one moment, for a chart."""

    label: str
    at: datetime
    freshness_s: float | None
    lag: dict[int, int]

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


def lag_sample(
    spark: SparkSession, settings: KafkaSettings, topic: str, paths: LabPaths, label: str
) -> LagSample:
    """Measure now: Bronze's freshness (now − newest ``kafka_ingest_ts``) and Bronze's lag."""
    from labsupport.observe import freshness_seconds

    return LagSample(
        label,
        datetime.now(timezone.utc).replace(tzinfo=None),
        freshness_seconds(spark, paths.bronze),
        consumer_lag(settings, topic, paths.checkpoint("bronze")),
    )


def recreate_topic(settings: KafkaSettings, topic: str, timeout: float = 30.0) -> None:
    """Delete ``topic`` and create it again, empty, with the lab's settings (bounded waits).

    This is what resetting a topic does to a consumer: every offset starts from 0 again, while a
    checkpoint still remembers the old, higher ones.
    """
    from confluent_kafka.admin import AdminClient

    from labsupport.topics import delete_topic, ensure_topic

    admin = AdminClient(settings.client_config())
    delete_topic(settings, topic, timeout)
    deadline = time.monotonic() + timeout
    while topic in admin.list_topics(timeout=5).topics:
        if time.monotonic() > deadline:
            raise LabError(f"Topic {topic} is still listed {timeout:.0f} s after its deletion.")
        time.sleep(0.2)
    while True:
        try:
            ensure_topic(settings, topic, timeout=timeout)  # returns once its partitions serve
            return
        except LabError:  # "marked for deletion" for a moment after the delete
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# --- Proof from the tables ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExactlyOnceReport:
    """Bronze, quarantine and Gold held against the topic: the proof of lesson 06.

    Every Kafka record is either a valid event (Bronze) or not (quarantine), so the two tables
    together must hold each ``(partition, offset)`` of the topic exactly once.
    """

    topic_records: int
    bronze_rows: int
    bronze_distinct: int
    quarantine_rows: int
    quarantine_distinct: int
    missing: int
    gold_rows: int
    gold_matches: bool

    @property
    def duplicates(self) -> int:
        """Rows beyond the first copy of a Kafka record, in Bronze and quarantine together."""
        return (self.bronze_rows - self.bronze_distinct) + (
            self.quarantine_rows - self.quarantine_distinct
        )

    @property
    def exactly_once(self) -> bool:
        return self.missing == 0 and self.duplicates == 0 and self.gold_matches

    def lines(self) -> list[str]:
        verdict = "exactly once ✓" if self.exactly_once else "NOT exactly once ✗"
        return [
            f"records on the topic                 {self.topic_records}",
            f"Bronze rows (distinct records)       {self.bronze_rows} ({self.bronze_distinct})",
            f"quarantine rows (distinct records)   {self.quarantine_rows} ({self.quarantine_distinct})",
            f"records in neither table (lost)      {self.missing}",
            f"rows beyond the first copy (dupes)   {self.duplicates}",
            f"Gold = gold_windows(Bronze) in batch {self.gold_matches} ({self.gold_rows} rows)",
            verdict,
        ]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _located(df: DataFrame) -> DataFrame:
    return df.select("kafka_partition", "kafka_offset")


def exactly_once_report(
    spark: SparkSession, paths: LabPaths, settings: KafkaSettings, topic: str
) -> ExactlyOnceReport:
    """Prove (or disprove) exactly once from the tables themselves.

    - *no loss*: every offset the topic holds, per partition from its first to its end offset,
      is in Bronze or quarantine;
    - *no duplicates*: no ``(kafka_partition, kafka_offset)`` appears twice;
    - *Gold is right*: Gold equals :func:`labsupport.pipeline.gold_windows` computed in batch
      over Bronze (true when no event was too late for the watermark, as in lesson 06).
    """
    from pyspark.sql import functions as F

    from labsupport.pipeline import gold_windows

    bronze = spark.read.format("delta").load(paths.bronze)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    gold = spark.read.format("delta").load(paths.gold)

    def rows_and_records(table: DataFrame) -> tuple[int, int]:
        counts = table.agg(
            F.count("*"), F.count_distinct("kafka_partition", "kafka_offset")
        ).first()
        return int(counts[0]), int(counts[1])

    offsets = topic_offsets(settings, topic)
    topic_records = sum(end - first for first, end in offsets.values())
    missing = 0
    if topic_records:
        expected = spark.createDataFrame(
            [(p, first, end - 1) for p, (first, end) in offsets.items() if end > first],
            "kafka_partition int, first long, last long",
        ).select("kafka_partition", F.explode(F.sequence("first", "last")).alias("kafka_offset"))
        seen = _located(bronze).union(_located(quarantine))
        missing = expected.join(seen, ["kafka_partition", "kafka_offset"], "left_anti").count()
    gold_rows = gold.collect()  # Gold is small: a few rows per window, region and category
    recomputed = gold_windows(bronze).collect()
    bronze_rows, bronze_distinct = rows_and_records(bronze)
    quarantine_rows, quarantine_distinct = rows_and_records(quarantine)
    return ExactlyOnceReport(
        topic_records=topic_records,
        bronze_rows=bronze_rows,
        bronze_distinct=bronze_distinct,
        quarantine_rows=quarantine_rows,
        quarantine_distinct=quarantine_distinct,
        missing=missing,
        gold_rows=len(gold_rows),
        gold_matches=sorted(map(tuple, gold_rows)) == sorted(map(tuple, recomputed)),
    )


# --- The idempotency trap: txnAppId / txnVersion -------------------------------------------------------------
def starting_offsets_json(topic: str, offsets: Mapping[int, int]) -> str:
    """``startingOffsets`` for Spark's Kafka source that starts each partition at ``offsets``."""
    return json.dumps({topic: {str(p): int(o) for p, o in sorted(offsets.items())}})


def _idempotent_writer(table: str, app_id: str):
    def write(batch: DataFrame, batch_id: int) -> None:
        # Delta records (txnAppId, txnVersion) in its log and skips a write whose version is not
        # above the last one recorded for that app id: a replayed batch is written only once.
        (
            batch.write.format("delta")
            .mode("append")
            .option("txnAppId", app_id)
            .option("txnVersion", batch_id)
            .save(table)
        )

    return write


def run_idempotent_copy(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    table: str,
    checkpoint: str,
    *,
    app_id: str,
    starting_offsets: str = "earliest",
    max_offsets_per_trigger: int | None = None,
    fail_on_data_loss: bool = True,
    timeout: float = 120.0,
) -> dict[int, int]:
    """Copy the topic's records to a Delta table with ``foreachBatch`` and idempotent writes.

    Each micro-batch appends ``(partition, offset, value)`` with ``txnAppId=app_id`` and
    ``txnVersion=<batch id>``, the way Delta's docs make ``foreachBatch`` exactly once: a batch
    replayed after a crash carries the same id and Delta skips it. The trap: the batch id comes
    from the *checkpoint*. A new checkpoint counts from 0 again, so with the same ``app_id``
    Delta skips every batch up to the old highest id — silently. Runs ``available-now``
    (bounded by ``timeout``) and returns ``{batch id: input rows}`` from Spark's progress. A
    skipped batch shows 0 input rows whatever its offsets cover: Delta refused the write before
    the batch's DataFrame was ever read.
    """
    query = _start_copy(
        spark, settings, topic, table, checkpoint,
        app_id=app_id, starting_offsets=starting_offsets,
        max_offsets_per_trigger=max_offsets_per_trigger, fail_on_data_loss=fail_on_data_loss,
    )  # fmt: skip
    try:
        try:
            finished = query.awaitTermination(timeout)
        except Exception as error:
            raise LabError(f"The copy query failed: {explain_failure(error)}") from None
        if not finished:
            raise LabError(f"The copy query did not finish within {timeout:.0f} s.")
        return {p["batchId"]: p["numInputRows"] for p in query.recentProgress}
    finally:
        with quiet_spark_logs("ERROR"):  # "Failed to cancel job group": harmless, but alarming
            query.stop()


def _start_copy(
    spark: SparkSession,
    settings: KafkaSettings,
    topic: str,
    table: str,
    checkpoint: str,
    *,
    app_id: str,
    starting_offsets: str,
    max_offsets_per_trigger: int | None,
    fail_on_data_loss: bool,
) -> StreamingQuery:
    reader = (
        spark.readStream.format("kafka")
        .options(**settings.spark_options())
        .option("subscribe", topic)
        .option("startingOffsets", starting_offsets)
        .option("failOnDataLoss", str(fail_on_data_loss).lower())
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", max_offsets_per_trigger)
    records = reader.load().selectExpr("partition", "offset", "CAST(value AS STRING) AS value")
    return (
        records.writeStream.queryName(f"copy-{app_id}")
        .foreachBatch(_idempotent_writer(table, app_id))
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )


@dataclass(frozen=True)
class DeltaTransaction:
    """A ``txn`` action of the Delta log: table version ``version`` recorded (app id, txn version)."""

    version: int
    app_id: str
    txn_version: int


def delta_transactions(table: str | Path) -> list[DeltaTransaction]:
    """The ``txn`` actions in a Delta table's log, oldest first.

    Delta's streaming sink writes one per micro-batch too (app id = the query's id from its
    checkpoint's ``metadata`` file, version = the batch id): that is how Bronze skips a batch it
    has already written when the batch is replayed after a crash.
    """
    found = []
    for path in sorted((Path(table) / "_delta_log").glob("*.json")):
        for line in path.read_text().splitlines():
            action = json.loads(line)
            if "txn" in action:
                txn = action["txn"]
                found.append(DeltaTransaction(int(path.stem), txn["appId"], int(txn["version"])))
    return found


# --- Maintenance and settings -------------------------------------------------------------------------------------
def delta_file_counts(spark: SparkSession, path: str) -> tuple[int, int]:
    """``(files in the current version, Parquet files on disk)`` of a Delta table.

    OPTIMIZE lowers the first (small files rewritten as few big ones) but not the second: the
    old files stay on disk for time travel until VACUUM deletes those older than the retention.
    """
    from delta.tables import DeltaTable

    active = DeltaTable.forPath(spark, path).detail().first()["numFiles"]
    on_disk = sum(1 for _ in Path(path).rglob("*.parquet"))
    return int(active), on_disk


@contextmanager
def retention_check_disabled(spark: SparkSession) -> Iterator[None]:
    """Turn Delta's VACUUM retention check off for a ``with`` block, and back on after.

    ``VACUUM ... RETAIN 0 HOURS`` is refused while the check is on: files a running query or a
    time-travel read still needs could be deleted. Only for a table nobody else uses.
    """
    key = "spark.databricks.delta.retentionDurationCheck.enabled"
    before = spark.conf.get(key, "true")
    spark.conf.set(key, "false")
    try:
        yield
    finally:
        spark.conf.set(key, before)


def mask_secrets(config: Mapping[str, str]) -> dict[str, str]:
    """A copy of a client config or Spark options with every password replaced by ``****``.

    Keys naming a password or secret are masked whole; in a JAAS line only the ``password="…"``.
    """
    masked = {}
    for key, value in config.items():
        if _SECRET_KEY.search(key):
            masked[key] = "****"
        elif "jaas" in key:
            masked[key] = _JAAS_PASSWORD.sub(r'\1"****"', value)
        else:
            masked[key] = value
    return masked
