"""Three Kafka brokers and a Spark standalone cluster on this machine: up, used, and all gone after.

The clusters run on free ports in a temporary folder (``make cluster`` uses fixed ones under
``.lab/cluster/``). One module fixture starts them once; stopping is itself a test, last. In
between, the pipeline runs on them as ``make cluster`` users run it (``LAB_SPARK_MASTER`` in its
environment, a process of its own): it writes the tables local mode writes from the same topic;
it loses and doubles nothing when a broker is SIGKILLed mid-stream (the producer with
``acks=all``) or a Spark worker and its executor mid-batch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from chispa import assert_df_equality
from confluent_kafka.admin import ConfigResource

from labsupport.checkpoint import committed_offsets
from labsupport.cluster import LabCluster
from labsupport.config import PROJECT_ROOT, KafkaSettings, LabPaths
from labsupport.exactly_once import exactly_once_report
from labsupport.net import free_port
from labsupport.pipeline_process import pipeline_process
from labsupport.processes import alive
from labsupport.runner import QUERIES, run_available_now
from labsupport.topics import admin_client, ensure_topic, topic_end_offsets

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.xdist_group("cluster")]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    ports = [free_port() for _ in range(8)]
    lab = LabCluster(
        home=tmp_path_factory.mktemp("cluster"),
        kafka_ports=tuple(ports[0:3]),
        controller_ports=tuple(ports[3:6]),
        spark_port=ports[6],
        spark_ui_port=ports[7],
    )
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


def test_every_process_runs_with_its_own_folder_pid_and_log(cluster):
    processes = cluster.status()
    assert [p.name for p in processes] == [
        "kafka-1", "kafka-2", "kafka-3", "spark-master", "spark-worker-1", "spark-worker-2",
    ]  # fmt: skip
    assert all(p.pid is not None and alive(p.pid) for p in processes), processes
    assert len({p.pid for p in processes}) == 6 and all(p.log.exists() for p in processes)
    cluster.start()  # idempotent: finds them running, starts nothing more
    assert [p.pid for p in cluster.status()] == [p.pid for p in processes]


def test_the_topic_has_three_replicas_and_needs_two_in_sync(cluster):
    settings = KafkaSettings(bootstrap_servers=cluster.bootstrap_servers)
    assert ensure_topic(settings, "orders-replicated")
    admin = admin_client(settings)
    metadata = admin.list_topics(timeout=10)
    assert len(metadata.brokers) == 3
    partitions = metadata.topics["orders-replicated"].partitions.values()
    assert [len(p.replicas) for p in partitions] == [3, 3, 3]
    resource = ConfigResource(ConfigResource.Type.TOPIC, "orders-replicated")
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["min.insync.replicas"].value == "2"


def test_a_spark_job_runs_on_the_two_workers(cluster):
    """A fresh Python process (one Spark session per process) with LAB_SPARK_MASTER set."""
    code = (
        "from labsupport.spark import get_spark\n"
        "spark = get_spark()\n"
        "print('master', spark.sparkContext.master)\n"
        "print('sum', spark.range(1000).repartition(4).selectExpr('sum(id)').first()[0])\n"
        "print('executors', spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "LAB_SPARK_MASTER": cluster.spark_master},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"master {cluster.spark_master}" in result.stdout
    assert "sum 499500" in result.stdout
    assert "executors 2" in result.stdout, result.stdout


# --- The pipeline on the clusters: the same tables as local mode, and faults ------------------------
def _producer(settings: KafkaSettings, topic: str, count: int, rate: int) -> subprocess.Popen:
    """The lab's producer (idempotent, ``acks=all``) sending ``count`` events, 5 % malformed."""
    return subprocess.Popen(
        [sys.executable, "-m", "producer.order_producer", "--topic", topic, "--count", str(count),
         "--rate", str(rate), "--malformed-fraction", "0.05", "--no-progress",
         "--bootstrap-servers", settings.bootstrap_servers],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_until_read_to_the_end(settings, topic, paths, running, timeout: float = 240) -> None:
    ends = topic_end_offsets(settings, topic)
    deadline = time.monotonic() + timeout
    while not all(committed_offsets(paths.checkpoint(q)) == ends for q in QUERIES):
        assert running.alive, f"the pipeline stopped:\n{running.log_tail()}"
        assert time.monotonic() < deadline, f"not read to the end:\n{running.log_tail()}"
        time.sleep(0.5)


def _assert_exactly_once(spark, paths, settings, topic, count: int) -> None:
    report = exactly_once_report(spark, paths, settings, topic)
    assert report.topic_records == count
    assert report.missing == 0, report
    assert report.bronze_rows == report.bronze_distinct, report
    assert report.quarantine_rows == report.quarantine_distinct, report
    assert report.bronze_rows + report.quarantine_rows == count, report
    assert report.gold_matches, report


def test_the_pipeline_on_the_clusters_writes_what_local_mode_writes(
    cluster, spark, tmp_path, monkeypatch
):
    settings = KafkaSettings(bootstrap_servers=cluster.bootstrap_servers)
    topic = "cluster-drain"
    ensure_topic(settings, topic)
    producer = _producer(settings, topic, 1_500, 1_000)
    assert producer.wait(120) == 0, producer.stderr.read()

    on_cluster, local = LabPaths.under(tmp_path / "cluster"), LabPaths.under(tmp_path / "local")
    monkeypatch.setenv("LAB_SPARK_MASTER", cluster.spark_master)  # the child's Spark only
    drained = subprocess.run(
        [sys.executable, "-m", "labsupport", "pipeline", "run", "--trigger", "available-now",
         "--bootstrap-servers", settings.bootstrap_servers, "--topic", topic,
         "--delta-root", str(on_cluster.delta_root),
         "--checkpoint-root", str(on_cluster.checkpoint_root)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert drained.returncode == 0, drained.stderr[-3000:]
    run_available_now(spark, settings, topic, local)  # this process's session: local mode

    for table in ("bronze", "quarantine", "gold"):
        assert_df_equality(
            spark.read.format("delta").load(getattr(on_cluster, table)),
            spark.read.format("delta").load(getattr(local, table)),
            ignore_row_order=True,
        )
    _assert_exactly_once(spark, on_cluster, settings, topic, 1_500)


def test_a_broker_lost_mid_stream_loses_and_doubles_nothing(cluster, spark, tmp_path, monkeypatch):
    """One of three brokers SIGKILLed while the producer sends with acks=all and the pipeline reads:
    two replicas remain in sync (min.insync.replicas=2), so writes and reads carry on."""
    settings = KafkaSettings(bootstrap_servers=cluster.bootstrap_servers)
    topic, sent = "cluster-broker-loss", 3_000
    ensure_topic(settings, topic)
    paths = LabPaths.under(tmp_path / "pipeline")
    monkeypatch.setenv("LAB_SPARK_MASTER", cluster.spark_master)
    victim = cluster.brokers()[1]
    with pipeline_process(settings, topic, paths, trigger="2 seconds") as running:
        producer = _producer(settings, topic, sent, 500)
        deadline = time.monotonic() + 120
        while sum(topic_end_offsets(settings, topic).values()) < sent // 3:
            assert time.monotonic() < deadline and producer.poll() is None, "a third sent"
            time.sleep(0.1)
        os.kill(victim.status().pid, signal.SIGKILL)  # a crash: no flush, no clean shutdown
        assert producer.wait(180) == 0, producer.stderr.read()
        assert sum(topic_end_offsets(settings, topic).values()) == sent, "nothing doubled"
        _wait_until_read_to_the_end(settings, topic, paths, running)
    victim.start()  # the cluster whole again, for what follows
    _assert_exactly_once(spark, paths, settings, topic, sent)


def test_a_worker_lost_mid_batch_and_exactly_once_holds(cluster, spark, tmp_path, monkeypatch):
    """A Spark worker and its executor SIGKILLed while a micro-batch runs: Spark runs the lost
    tasks on the other executor, and the tables still hold every record once."""
    settings = KafkaSettings(bootstrap_servers=cluster.bootstrap_servers)
    topic, sent = "cluster-worker-loss", 3_000
    ensure_topic(settings, topic)
    producer = _producer(settings, topic, sent, 2_000)
    assert producer.wait(120) == 0, producer.stderr.read()
    paths = LabPaths.under(tmp_path / "pipeline")
    monkeypatch.setenv("LAB_SPARK_MASTER", cluster.spark_master)
    worker = next(p for p in cluster.status() if p.name == "spark-worker-1")
    with pipeline_process(
        settings, topic, paths, trigger="1 second", max_offsets_per_trigger=300
    ) as running:
        running.wait_for_commits(2, timeout=180)
        assert running.wait_for_batch_in_flight("bronze", 60) is not None, running.log_tail()
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and the executor it launched
        _wait_until_read_to_the_end(settings, topic, paths, running)
    cluster.start()  # idempotent: starts only the lost worker again
    assert all(p.pid is not None for p in cluster.status())
    _assert_exactly_once(spark, paths, settings, topic, sent)


def test_stop_ends_every_process_it_started(cluster):
    pids = [p.pid for p in cluster.status()]
    stopped = cluster.stop()
    assert sorted(stopped) == sorted(p.name for p in cluster.status())
    assert not any(alive(pid) for pid in pids if pid)
    for group in pids[3:]:  # each Spark process led its own group: executors included, none left
        with pytest.raises(ProcessLookupError):
            os.killpg(group, 0)
    assert all(p.pid is None for p in cluster.status())
    assert cluster.stop() == []  # a second stop: nothing left to stop
