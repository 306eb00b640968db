"""Three Kafka brokers and a Spark standalone cluster on this machine: up, used, and all gone after.

The clusters run on free ports in a temporary folder (``make cluster`` uses fixed ones under
``.lab/cluster/``). One module fixture starts them once; stopping is itself a test, last.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from confluent_kafka.admin import ConfigResource

from labsupport.cluster import LabCluster
from labsupport.config import KafkaSettings
from labsupport.net import free_port
from labsupport.processes import alive
from labsupport.topics import admin_client, ensure_topic

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
