"""Operating the pipeline against the real thing: a killed process group (``pipeline_process``),
real checkpoints (``checkpoint``), a real topic deleted and recreated (``topics``), the
``txnAppId`` trap (``idempotency``), real Delta tables optimized and vacuumed (``maintenance``).
No mocks.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from delta.tables import DeltaTable

from labsupport.checkpoint import batch_ids, checkpoint_tree, committed_offsets, read_offsets
from labsupport.config import KafkaSettings, LabPaths, mask_secrets
from labsupport.errors import LabError, explain_failure
from labsupport.idempotency import delta_transactions, run_idempotent_copy
from labsupport.maintenance import delta_file_counts, retention_check_disabled
from labsupport.pipeline_process import kill_process_group
from labsupport.runner import run_available_now
from labsupport.spark import quiet_spark_logs
from labsupport.topics import (
    recreate_topic,
    starting_offsets_json,
    topic_end_offsets,
    topic_offsets,
)
from producer import produce_events


def _gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (absent, or a zombie waiting for its parent)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except FileNotFoundError:
        return True


def _paths(tmp_path: Path) -> LabPaths:
    return LabPaths.under(tmp_path)


# --- No broker, no Spark ------------------------------------------------------------------------------
def test_kill_process_group_reaches_the_children_and_reaps():
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        child = int(parent.stdout.readline())
        assert not _gone(child)
        assert kill_process_group(parent, timeout=10) == -9
        deadline = time.monotonic() + 10
        while not _gone(child):
            assert time.monotonic() < deadline, "the child survived its group's SIGKILL"
            time.sleep(0.05)
        assert kill_process_group(parent) == -9, "a second kill is harmless"
    finally:
        kill_process_group(parent)
        parent.stdout.close()


def test_mask_secrets_never_shows_a_password():
    settings = KafkaSettings(
        bootstrap_servers="pkc-1.example.com:9092",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="KEY",
        sasl_password='p"a=ss word;',
    )
    client = mask_secrets(settings.client_config())
    spark_options = mask_secrets(settings.spark_options())
    assert client["sasl.password"] == "****" and client["sasl.username"] == "KEY"
    assert "ss word" not in json.dumps(client) + json.dumps(spark_options)
    jaas = spark_options["kafka.sasl.jaas.config"]
    assert 'username="KEY"' in jaas and 'password="****"' in jaas
    assert "ScramLoginModule" in jaas
    assert settings.spark_options()["kafka.sasl.jaas.config"] != jaas, "a copy: the original stays"


def test_starting_offsets_json_and_explain_failure():
    assert json.loads(starting_offsets_json("t", {2: 5, 0: 1})) == {"t": {"0": 1, "2": 5}}
    spark_style = RuntimeError(
        "[STREAM_FAILED] Query [id = 1, runId = 2] terminated with exception: Data lost;\n"
        "either aged out\nReason: Partition t-0 offset was changed from 9 to 1.\nmore"
    )
    assert (
        explain_failure(spark_style)
        == "Data lost; Reason: Partition t-0 offset was changed from 9 to 1."
    )
    assert explain_failure(ValueError("")) == "ValueError"


def test_checkpoint_readers_on_missing_or_empty_folders(tmp_path):
    assert "no checkpoint here" in checkpoint_tree(tmp_path / "nothing")
    assert batch_ids(tmp_path / "nothing") == []
    assert committed_offsets(tmp_path / "nothing") == {}
    with pytest.raises(LabError, match="no offsets files"):
        read_offsets(tmp_path)
    with pytest.raises(LabError, match="'commits' and 'offsets'"):
        batch_ids(tmp_path, "state")


# --- Kafka ----------------------------------------------------------------------------------------------
@pytest.mark.kafka
def test_topic_offsets_count_the_records(kafka, topic):
    produce_events(kafka, topic, rate=5_000, count=11, seed=1, progress=False)
    offsets = topic_offsets(kafka, topic)
    assert sorted(offsets) == [0, 1, 2]
    assert sum(end - first for first, end in offsets.values()) == 11
    assert topic_end_offsets(kafka, topic) == {p: end for p, (_, end) in offsets.items()}
    with pytest.raises(LabError, match="does not exist"):
        topic_offsets(kafka, "test-never-created-topic")


# --- The two traps ----------------------------------------------------------------------------------------
@pytest.mark.kafka
@pytest.mark.spark
@pytest.mark.slow
def test_an_old_txn_app_id_skips_writes_and_a_reset_topic_fails_the_query(
    spark, kafka, topic, tmp_path
):
    paths = _paths(tmp_path)
    table = str(tmp_path / "copy")
    produce_events(kafka, topic, rate=5_000, count=50, seed=7, progress=False)
    run_available_now(spark, kafka, topic, paths, queries=("bronze",))  # a checkpoint, for later

    first = run_idempotent_copy(
        spark, kafka, topic, table, str(tmp_path / "cp1"), app_id="app", max_offsets_per_trigger=20
    )
    assert sorted(first) == [0, 1, 2] and sum(first.values()) == 50
    count = spark.read.format("delta").load(table).count
    assert count() == 50

    produce_events(kafka, topic, rate=5_000, count=10, seed=8, progress=False)
    resume = starting_offsets_json(topic, committed_offsets(tmp_path / "cp1"))
    skipped = run_idempotent_copy(
        spark, kafka, topic, table, str(tmp_path / "cp2"), app_id="app", starting_offsets=resume
    )
    assert list(skipped) == [0] and skipped[0] == 0, "Delta skipped it before it was read"
    assert count() == 50, "10 records silently missing"
    assert committed_offsets(tmp_path / "cp2") == topic_end_offsets(kafka, topic)

    fixed = run_idempotent_copy(
        spark, kafka, topic, table, str(tmp_path / "cp3"), app_id="app-2", starting_offsets=resume
    )
    assert fixed == {0: 10} and count() == 60
    assert [(t.app_id, t.txn_version) for t in delta_transactions(table)] == [
        ("app", 0), ("app", 1), ("app", 2), ("app-2", 0),
    ]  # fmt: skip

    recreate_topic(kafka, topic)
    assert sum(topic_end_offsets(kafka, topic).values()) == 0
    produce_events(kafka, topic, rate=5_000, count=5, seed=9, progress=False)
    with quiet_spark_logs(), pytest.raises(LabError, match="offset was changed from"):
        run_available_now(spark, kafka, topic, paths, queries=("bronze",), timeout=120)
    assert not spark.streams.active, "the failed queries were stopped"

    with quiet_spark_logs():
        lossy = run_idempotent_copy(
            spark, kafka, topic, table, str(tmp_path / "cp3"), app_id="app-2",
            fail_on_data_loss=False,
        )  # fmt: skip
    assert sum(lossy.values()) == 0 and count() == 60, "the new topic's 5 records were skipped"
    assert committed_offsets(tmp_path / "cp3") == topic_end_offsets(kafka, topic)


# --- Delta maintenance ------------------------------------------------------------------------------------
@pytest.mark.spark
def test_optimize_and_vacuum_file_counts_and_the_retention_check(spark, tmp_path):
    path = str(tmp_path / "table")
    listing = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
    spark.conf.set(listing, "2")  # VACUUM's listing job: 10,000 tasks by default, minutes here
    try:
        _optimize_and_vacuum(spark, path)
    finally:
        spark.conf.unset(listing)


def _optimize_and_vacuum(spark, path: str) -> None:
    for i in range(4):
        spark.range(i * 10, i * 10 + 10).coalesce(1).write.format("delta").mode("append").save(path)
    assert delta_file_counts(spark, path) == (4, 4)
    table = DeltaTable.forPath(spark, path)
    table.optimize().executeCompaction()
    assert delta_file_counts(spark, path) == (1, 5), "the old files stay for time travel"
    table.vacuum()
    assert delta_file_counts(spark, path) == (1, 5), "younger than the 7-day retention"

    key = "spark.databricks.delta.retentionDurationCheck.enabled"
    before = spark.conf.get(key, "true")
    with pytest.raises(Exception, match="DELTA_VACUUM_RETENTION_PERIOD_TOO_SHORT") as refused:
        table.vacuum(0)
    assert "retention period is too low" in explain_failure(refused.value)
    with retention_check_disabled(spark):
        table.vacuum(0)
    assert spark.conf.get(key, "true") == before, "the check is back on"
    assert delta_file_counts(spark, path) == (1, 1)
    assert spark.read.format("delta").load(path).count() == 40
