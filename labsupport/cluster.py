"""Two real clusters on one machine: three Kafka brokers and a Spark standalone master with workers.

The step off one laptop is where production surprises live: replication and
``min.insync.replicas``, a broker lost mid-stream, executors lost mid-batch. Both clusters run
here for real, with no Docker — Kafka from the lab's jars (:class:`EmbeddedBroker`, three nodes of
one KRaft quorum), Spark from the pyspark package (``bin/spark-class`` starts its ``Master`` and
``Worker``) — each process with its own folder, pid file and log under ``.lab/cluster/``:

    python -m labsupport cluster start     # make cluster: prints the two addresses to export
    python -m labsupport cluster status
    python -m labsupport cluster stop      # make cluster-stop: every process it started ends

With ``KAFKA_BOOTSTRAP_SERVERS`` and ``LAB_SPARK_MASTER`` exported, the lab's commands use the
clusters unchanged (``tests/test_cluster.py`` runs the pipeline command on them); ``topic create``
on three brokers makes three replicas of each partition, two of which must have a write before
it counts (``min.insync.replicas=2``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from labsupport.broker import EmbeddedBroker, new_cluster_id
from labsupport.config import RUNTIME_DIR
from labsupport.errors import LabError
from labsupport.java import require_java
from labsupport.net import port_open
from labsupport.processes import alive, runs_program

__all__ = ["CLUSTER_HOME", "LabCluster", "ProcessStatus"]

CLUSTER_HOME = RUNTIME_DIR / "cluster"
#: Kafka nodes: enough that one may be lost while two still hold every write.
KAFKA_NODES = 3
#: What each Spark worker offers its executors: one core each, bounded memory.
WORKER_CORES, WORKER_MEMORY = 1, "1g"


@dataclass(frozen=True)
class ProcessStatus:
    """One process of the clusters, as ``cluster status`` reports it."""

    name: str
    address: str
    pid: int | None
    log: Path

    def __str__(self) -> str:
        state = f"running (pid {self.pid})" if self.pid else "not running"
        return f"{self.name:<14} {self.address:<24} {state}, log {self.log}"


@dataclass
class LabCluster:
    """Three Kafka brokers and a Spark master with ``workers`` workers, all on 127.0.0.1."""

    home: Path = field(default_factory=lambda: CLUSTER_HOME)
    kafka_ports: tuple[int, ...] = (19092, 19093, 19094)
    controller_ports: tuple[int, ...] = (19192, 19193, 19194)
    spark_port: int = 7077
    spark_ui_port: int = 8080
    workers: int = 2

    def __post_init__(self) -> None:
        self.home = Path(self.home)

    # --- addresses ------------------------------------------------------------------------------
    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.kafka_ports)

    @property
    def spark_master(self) -> str:
        return f"spark://127.0.0.1:{self.spark_port}"

    def brokers(self) -> list[EmbeddedBroker]:
        """The Kafka nodes: one quorum, one cluster id (kept in ``home``), three replicas."""
        id_file = self.home / "kafka-cluster.id"
        if not id_file.exists():
            id_file.parent.mkdir(parents=True, exist_ok=True)
            id_file.write_text(new_cluster_id())
        voters = ",".join(
            f"{node}@127.0.0.1:{port}" for node, port in enumerate(self.controller_ports, 1)
        )
        return [
            EmbeddedBroker(
                port=port,
                home=self.home / f"kafka-{node}",
                controller_port=controller,
                node_id=node,
                voters=voters,
                cluster_id=id_file.read_text().strip(),
                replicas=len(self.kafka_ports),
            )
            for node, (port, controller) in enumerate(
                zip(self.kafka_ports, self.controller_ports, strict=True), 1
            )
        ]

    def _spark_processes(self) -> list[tuple[str, list[str]]]:
        """``(name, spark-class arguments)`` of the master and each worker."""
        master = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                  "--port", str(self.spark_port), "--webui-port", str(self.spark_ui_port)]  # fmt: skip
        processes = [("spark-master", master)]
        for number in range(1, self.workers + 1):
            folder = self.home / f"spark-worker-{number}"
            processes.append(
                (
                    folder.name,
                    [
                        "org.apache.spark.deploy.worker.Worker",
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        str(WORKER_CORES),
                        "--memory",
                        WORKER_MEMORY,
                        "--webui-port",
                        "0",
                        "--work-dir",
                        str(folder / "work"),
                        self.spark_master,
                    ],
                )
            )
        return processes

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> None:
        """Start every process not running yet, then wait until both clusters answer."""
        brokers = self.brokers()
        for broker in brokers:
            broker.start(timeout, wait=False)  # a node answers once a majority of the quorum runs
        for name, arguments in self._spark_processes():
            self._start_spark(name, arguments)
        for broker in brokers:
            broker.wait_until_ready(timeout)
        self._wait_for_workers(timeout)

    def stop(self) -> list[str]:
        """Stop every process of the clusters (Spark's with their executors); return their names."""
        stopped = []
        for name, _ in reversed(self._spark_processes()):
            if self._stop_spark(name):
                stopped.append(name)
        for number, broker in enumerate(self.brokers(), 1):
            if broker.stop():
                stopped.append(f"kafka-{number}")
        return stopped

    def status(self) -> list[ProcessStatus]:
        found = [
            ProcessStatus(f"kafka-{n}", b.bootstrap_servers, b.status().pid, b.log_file)
            for n, b in enumerate(self.brokers(), 1)
        ]
        for name, _ in self._spark_processes():
            address = self.spark_master if name == "spark-master" else "(worker)"
            found.append(ProcessStatus(name, address, self._spark_pid(name), self._log(name)))
        return found

    # --- Spark's processes ----------------------------------------------------------------------
    def _log(self, name: str) -> Path:
        return self.home / name / "process.log"

    def _pid_file(self, name: str) -> Path:
        return self.home / name / "process.pid"

    def _spark_pid(self, name: str) -> int | None:
        """The pid of a running Spark process of ours (a stale pid file is removed)."""
        pid_file = self._pid_file(name)
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            return None
        if alive(pid) and runs_program(pid, "org.apache.spark.deploy"):
            return pid
        pid_file.unlink(missing_ok=True)
        return None

    def _start_spark(self, name: str, arguments: list[str]) -> None:
        if self._spark_pid(name) is not None:
            return
        if name == "spark-master" and port_open("127.0.0.1", self.spark_port):
            raise LabError(
                f"Port {self.spark_port} is already in use by another program (another Spark "
                "master?): stop it, then `make cluster` again."
            )
        import pyspark

        spark_home = Path(pyspark.__file__).parent
        java_home = Path(require_java()).resolve().parents[1]
        environment = {**os.environ, "SPARK_HOME": str(spark_home), "JAVA_HOME": str(java_home),
                       "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
                       "SPARK_DAEMON_MEMORY": "256m"}  # fmt: skip
        self._log(name).parent.mkdir(parents=True, exist_ok=True)
        with self._log(name).open("ab") as log:
            process = subprocess.Popen(
                [str(spark_home / "bin" / "spark-class"), *arguments],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment,
                start_new_session=True,  # its own process group: stop ends its executors too
            )  # fmt: skip
        self._pid_file(name).write_text(str(process.pid))

    def _stop_spark(self, name: str, timeout: float = 20.0) -> bool:
        pid = self._spark_pid(name)
        if pid is None:
            return False
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)  # the process group: a worker's executors go with it
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if not alive(pid):
                break
        self._pid_file(name).unlink(missing_ok=True)
        return True

    def _wait_for_workers(self, timeout: float) -> None:
        """Until the master's status page counts every worker alive."""
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.spark_ui_port}/json/"
        alive_workers = 0
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    alive_workers = json.load(answer).get("aliveworkers", 0)
            except (OSError, ValueError):
                alive_workers = 0
            if alive_workers >= self.workers:
                return
            time.sleep(0.5)
        raise LabError(
            f"The Spark master counts {alive_workers} of {self.workers} workers alive after "
            f"{timeout:.0f} s: see the logs under {self.home}, then `make cluster-stop`."
        )
