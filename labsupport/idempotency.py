"""The idempotency trap: ``foreachBatch`` made exactly once with Delta's ``txnAppId``/``txnVersion``.

:func:`run_idempotent_copy` is the textbook ``foreachBatch`` writer made idempotent the way
Delta's docs describe — and shows what happens when a fresh checkpoint (batch ids from 0 again)
meets an old ``txnAppId``: Delta silently skips every batch up to the old highest id.
:func:`delta_transactions` reads the ``txn`` actions from a table's log, where both this writer
and Delta's own streaming sink record what they have written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from labsupport.config import KafkaSettings
from labsupport.runner import await_query, read_kafka

__all__ = ["DeltaTransaction", "delta_transactions", "run_idempotent_copy"]


def _idempotent_writer(table: str, app_id: str) -> Callable[[DataFrame, int], None]:
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
    records = read_kafka(
        spark,
        settings,
        topic,
        starting_offsets=starting_offsets,
        max_offsets_per_trigger=max_offsets_per_trigger,
        fail_on_data_loss=fail_on_data_loss,
    ).selectExpr("partition", "offset", "CAST(value AS STRING) AS value")
    query = (
        records.writeStream.queryName(f"copy-{app_id}")
        .foreachBatch(_idempotent_writer(table, app_id))
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    await_query(query, timeout)
    return {p["batchId"]: p["numInputRows"] for p in query.recentProgress}


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
