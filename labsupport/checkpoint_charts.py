"""Pictures of a checkpoint: what each micro-batch read, and the order a batch's files are written.

Both read the files a real run left behind, nothing else: :func:`offset_ranges_chart` draws each
committed batch's offset range per Kafka partition (``sources/0/0`` and ``offsets/N``, lesson 03);
:func:`checkpoint_sequence_chart` draws, for every batch, when ``offsets/N`` was written, when its
output reached the Delta table (the log version carrying the query's ``txn``) and when
``commits/N`` was written, with the moment the process was killed and the batch the restart ran
again (lesson 06).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from labsupport.checkpoint import (
    batch_history,
    batch_ids,
    start_offsets,
    written_at,
)
from labsupport.errors import LabError
from labsupport.idempotency import delta_transactions

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["BatchStep", "batch_steps", "checkpoint_sequence_chart", "offset_ranges_chart"]

_STEPS = {  # kind → (label, marker, colour), in the order a batch writes them
    "offsets": ("offsets/N written (plan)", "o", "tab:blue"),
    "write": ("Delta commit with txn (app id, N)", "s", "tab:green"),
    "commit": ("commits/N written (done)", "D", "tab:purple"),
}


def offset_ranges_chart(checkpoint: str | Path, ax: Axes | None = None, title: str = "") -> Axes:
    """Each committed micro-batch as one bar per partition: from its first offset to its end.

    A batch starts each partition where the previous batch ended (the first batch where
    ``sources/0/0`` says the query started); a partition with nothing new in a batch has no bar.
    """
    import matplotlib.pyplot as plt

    history = batch_history(checkpoint)
    if not history:
        raise LabError(f"{checkpoint} has no committed batch yet: run the query first.")
    if ax is None:
        partitions = len(history[-1].end_offsets)
        _, ax = plt.subplots(figsize=(10, 0.9 + 0.7 * partitions))
    colours = plt.get_cmap("tab10")
    position = start_offsets(checkpoint)
    for batch in history:
        for partition, end in batch.end_offsets.items():
            begin = position.get(partition, 0)
            if end > begin:
                ax.broken_barh([(begin, end - begin)], (partition - 0.35, 0.7),
                               facecolors=colours(batch.batch_id % 10), edgecolor="white")  # fmt: skip
                ax.annotate(str(batch.batch_id), (begin + (end - begin) / 2, partition),
                            ha="center", va="center", fontsize="small", color="white")  # fmt: skip
        position = {**position, **batch.end_offsets}
    parts = sorted(history[-1].end_offsets)
    ax.set_yticks(parts, [f"partition {p}" for p in parts])
    ax.invert_yaxis()
    ax.set_xlabel("Kafka offset (bar: the records a micro-batch read · number: its batch id)")
    ax.set_title(title or "what each micro-batch read, per partition")
    ax.figure.tight_layout()
    return ax


@dataclass(frozen=True)
class BatchStep:
    """One step of micro-batch ``batch_id``: ``kind`` is offsets, write or commit; ``at`` when."""

    batch_id: int
    kind: str
    at: datetime


def batch_steps(checkpoint: str | Path, table: str | Path) -> list[BatchStep]:
    """Every batch's three steps, in time order, from the checkpoint's files and the table's log.

    The write of batch N is the Delta log version whose ``txn`` carries the query's id (the
    checkpoint's ``metadata``) and version N; a batch Delta skipped on a replay has no second one.
    """
    metadata = Path(checkpoint) / "metadata"
    if not metadata.exists():
        raise LabError(f"{checkpoint} has no metadata file: the query never started.")
    query_id = json.loads(metadata.read_text().splitlines()[0])["id"]
    steps = [
        BatchStep(batch, {"offsets": "offsets", "commits": "commit"}[log],
                  written_at(checkpoint, log, batch))
        for log in ("offsets", "commits")
        for batch in batch_ids(checkpoint, log)
    ]  # fmt: skip
    log_folder = Path(table) / "_delta_log"
    steps += [
        BatchStep(txn.txn_version, "write",
                  datetime.fromtimestamp((log_folder / f"{txn.version:020d}.json").stat().st_mtime))
        for txn in delta_transactions(table)
        if txn.app_id == query_id
    ]  # fmt: skip
    return sorted(steps, key=lambda step: step.at)


def checkpoint_sequence_chart(
    checkpoint: str | Path, table: str | Path, crashed_at: datetime, title: str = ""
) -> Figure:
    """A query's batches before a crash and after its restart: offsets → write → commit.

    Two panels share the batch axis (the pause between crash and restart is cut out). The red
    line is the kill; a batch with its plan on the left and its commit on the right is the one
    the restart ran again, with the offsets it had planned — and its write, if Delta already had
    it, is not repeated.
    """
    import matplotlib.pyplot as plt

    steps = batch_steps(checkpoint, table)
    before = [s for s in steps if s.at <= crashed_at]
    after = [s for s in steps if s.at > crashed_at]
    if not before or not after:
        raise LabError("Nothing to draw on one side of the crash: run, kill, then restart first.")
    figure, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    committed_before = {s.batch_id for s in before if s.kind == "commit"}
    replayed = {s.batch_id for s in before if s.kind == "offsets"} - committed_before
    for ax, side, name in (
        (axes[0], before, "before the crash"),
        (axes[1], after, "after the restart"),
    ):
        origin = side[0].at
        for batch in sorted({s.batch_id for s in side}):
            mine = [s for s in side if s.batch_id == batch]
            ax.plot([(s.at - origin).total_seconds() for s in mine], [batch] * len(mine),
                    color="tab:red" if batch in replayed else "0.7", zorder=1)  # fmt: skip
        for kind, (label, marker, colour) in _STEPS.items():
            chosen = [s for s in side if s.kind == kind]
            ax.scatter([(s.at - origin).total_seconds() for s in chosen],
                       [s.batch_id for s in chosen], marker=marker, color=colour,
                       label=label, zorder=2)  # fmt: skip
        ax.set_title(name)
        ax.set_xlabel(f"seconds after {origin:%H:%M:%S}")
    crash_x = (crashed_at - before[0].at).total_seconds()
    axes[0].axvline(crash_x, color="tab:red", linewidth=2)
    axes[0].annotate("SIGKILL", (crash_x, 0.98), xycoords=("data", "axes fraction"),
                     ha="right", va="top", color="tab:red")  # fmt: skip
    for batch in replayed:
        wrote_before = any(s.batch_id == batch and s.kind == "write" for s in before)
        axes[1].annotate(
            f"batch {batch} replayed with its planned offsets"
            + (" — Delta skipped its write (txn seen)" if wrote_before else ""),
            (0, batch), xytext=(8, 8), textcoords="offset points", color="tab:red", fontsize="small",
        )  # fmt: skip
    batches = [s.batch_id for s in steps]
    axes[0].set_ylim(max(batches) + 0.6, min(batches) - 0.6)  # batch 0 on top
    axes[0].set_ylabel("micro-batch")
    axes[0].yaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[1].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize="small")
    figure.suptitle(title or "a checkpoint's order: offsets/N → the table's commit → commits/N")
    figure.tight_layout(rect=(0, 0.07, 1, 1))
    plt.close(figure)
    return figure
