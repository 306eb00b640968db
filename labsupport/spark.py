"""The one place that builds the lab's Spark session, with every setting in view.

Local mode on the loopback interface, Delta's SQL extension and catalog, the Kafka connector and
Delta jars as local files (resolved once by :mod:`labsupport.jars`), few shuffle partitions (the
lab's data is small and the machine has few cores), the RocksDB state store for streaming state,
UTC session time so event times read the same everywhere, quiet logs, and Python workers on the
driver's interpreter. ``get_spark()`` returns the running session when there is one.

Note ``configure_spark_with_delta_pip`` is deliberately not used: it overwrites
``spark.jars.packages`` (network at every start) and sets neither the extension nor the catalog.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from pyspark.sql import SparkSession

from labsupport.config import DRIVER_MEMORY, RUNTIME_DIR
from labsupport.env import env_flag, env_int, env_memory
from labsupport.jars import ensure_jars
from labsupport.java import FAST_START_OPTIONS, require_java
from labsupport.versions import check_installed

__all__ = [
    "get_spark",
    "let_ctrl_c_stop_streams_cleanly",
    "quiet_spark_logs",
    "spark_config",
    "stop_spark",
]


def spark_config(
    *, ui: bool | None = None, shuffle_partitions: int | None = None
) -> dict[str, str]:
    """Every setting of the lab's session (``LAB_SPARK_UI=1`` turns the web UI on)."""
    if ui is None:
        ui = env_flag("LAB_SPARK_UI")
    partitions = shuffle_partitions or env_int("LAB_SHUFFLE_PARTITIONS", 2, minimum=1)
    log_config = resources.files("labsupport") / "resources" / "log4j2-spark.properties"
    java_options = " ".join(
        (
            f"-Dlog4j2.configurationFile=file:{log_config}",
            "-Duser.timezone=UTC",
            *FAST_START_OPTIONS,
        )
    )
    return {
        "spark.master": os.environ.get("LAB_SPARK_MASTER", "local[2]"),
        "spark.app.name": "streaming-lab",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.memory": env_memory("LAB_DRIVER_MEMORY", DRIVER_MEMORY),
        "spark.driver.extraJavaOptions": java_options,
        "spark.jars": ",".join(str(jar) for jar in ensure_jars("spark")),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.default.parallelism": str(partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.streaming.stateStore.providerClass": (
            "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
        ),
        "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
        "spark.ui.enabled": str(ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.databricks.delta.snapshotPartitions": str(partitions),
        # VACUUM lists files with this many tasks (default 10,000: minutes on a laptop)
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(partitions),
        "spark.sql.debug.maxToStringFields": "200",
        # the lab keeps its tables by path; Spark's default warehouse would litter the working folder
        "spark.sql.warehouse.dir": str(RUNTIME_DIR / "spark-warehouse"),
        "spark.sql.adaptive.enabled": "false",  # keeps streaming plans and lessons predictable
    }


def get_spark(**overrides: object) -> SparkSession:
    """The lab's Spark session (created on first call, reused after).

    Every notebook's first cells call it; the session's settings are :func:`spark_config`'s::

        spark = get_spark()
        spark.range(3).count()  # 3
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    require_java()
    check_installed()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark picks a non-loopback address
    # PySpark turns timestamps into naive datetimes in the *Python process's* local time zone;
    # the lab works in UTC end to end, so collected event times read the same on every laptop.
    os.environ["TZ"] = "UTC"
    time.tzset()
    builder = SparkSession.builder
    for key, value in spark_config(**overrides).items():  # type: ignore[arg-type]
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def let_ctrl_c_stop_streams_cleanly() -> None:
    """Make Ctrl-C a plain ``KeyboardInterrupt`` again, for a command that stops its own queries.

    PySpark's SIGINT handler first cancels *every* job of the session. A streaming query whose
    micro-batch loses its jobs that way has not been stopped, so it ends with "terminated with
    error" and a page of ``SPARK_JOB_CANCELLED``; the lab's commands catch the interrupt and
    stop their queries instead, which Spark reports as the clean stop it is. Call it after
    :func:`get_spark`, from the main thread.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)


def stop_spark() -> None:
    """Stop the session (and its JVM's jobs) if one is running."""
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


#: Loggers the lab's log4j2 file sets on their own, which ``setLogLevel`` (root only) misses.
_OWN_LEVEL_LOGGERS = (
    "org.apache.spark.sql.execution.streaming.runtime.MicroBatchExecution",
    "org.apache.kafka.clients.NetworkClient",
)


@contextmanager
def quiet_spark_logs(level: str = "OFF") -> Iterator[None]:
    """Spark's log at ``level`` for a ``with`` block, then back to the levels it had before.

    For cells whose failure is expected and reported in one line, and for stopping queries
    (cancelled tasks log alarming but harmless warnings): the JVM would otherwise print the
    same story again as a long stack trace. Blocks may nest.
    """
    from pyspark import SparkContext

    jvm = SparkContext.getOrCreate()._jvm
    configurator = jvm.org.apache.logging.log4j.core.config.Configurator
    manager = jvm.org.apache.logging.log4j.LogManager
    names = (manager.ROOT_LOGGER_NAME, *_OWN_LEVEL_LOGGERS)
    before = {name: manager.getLogger(name).getLevel() for name in names}
    for name in names:
        configurator.setLevel(name, jvm.org.apache.logging.log4j.Level.toLevel(level))
    try:
        yield
    finally:
        for name, previous in before.items():
            configurator.setLevel(name, previous)
