"""Inside a streaming checkpoint: which micro-batches ran, what each read, the watermark it used.

The protocol, as lesson 06 teaches it: a micro-batch first writes ``offsets/N`` (what it will
read — the write-ahead log), then writes its output, then ``commits/N``. A batch with an offsets
file but no commit file was in flight when the query stopped, and a restart runs it again with
the *same* offsets. An offsets file is a version line (``v1``), a line of batch metadata
(``batchWatermarkMs``, ``batchTimestampMs`` and the settings a query may not change across
restarts), then one line per source: for Kafka ``{"topic": {"partition": offset}}``, where each
offset is the first one the batch does *not* read.

Everything here reads the files as they are; nothing needs Spark.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "offsets").mkdir(); (root / "commits").mkdir()
>>> _ = (root / "offsets" / "0").write_text('v1\\n{"batchWatermarkMs":0}\\n{"orders":{"0":5,"1":3}}')
>>> _ = (root / "commits" / "0").write_text("v1\\n{}")
>>> committed_offsets(root)
{0: 5, 1: 3}
>>> batch_that_read(batch_history(root), partition=1, offset=2).batch_id
0
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from labsupport.errors import LabError

__all__ = [
    "OffsetsFile",
    "batch_history",
    "batch_ids",
    "batch_that_read",
    "checkpoint_tree",
    "committed_offsets",
    "read_offsets",
    "start_offsets",
    "written_at",
]


def batch_ids(checkpoint: str | Path, log: str = "commits") -> list[int]:
    """The micro-batch ids in a checkpoint's ``commits`` (done) or ``offsets`` (planned) log.

    ``batch_ids(cp, "offsets")`` may hold one more id than ``batch_ids(cp)``: a batch that was
    in flight when the process died, and that a restart runs again.
    """
    if log not in {"commits", "offsets"}:
        raise LabError(f"A checkpoint's logs are 'commits' and 'offsets', not {log!r}.")
    folder = Path(checkpoint) / log
    return sorted(int(path.name) for path in folder.glob("[0-9]*") if path.name.isdigit())


@dataclass(frozen=True)
class OffsetsFile:
    """One ``offsets/N`` file: what micro-batch ``batch_id`` reads, and the watermark it ran with.

    ``text`` is the file as Spark wrote it; ``metadata`` its second line; ``sources`` one dict
    per source line.
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


def batch_history(checkpoint: str | Path) -> list[OffsetsFile]:
    """The committed batches of a Kafka query, oldest first: what each read, its watermark."""
    planned = set(batch_ids(checkpoint, "offsets"))
    return [read_offsets(checkpoint, batch) for batch in batch_ids(checkpoint) if batch in planned]


def start_offsets(checkpoint: str | Path) -> dict[int, int]:
    """Partition → the first offset the query's very first batch read ({} when not recorded).

    The Kafka source writes ``sources/0/0`` once, when the query first starts: its
    ``startingOffsets`` resolved to numbers. The file starts with a zero byte (kept for old
    Spark versions to read), then a version line and the offsets as JSON.
    """
    path = Path(checkpoint) / "sources" / "0" / "0"
    if not path.exists():
        return {}
    lines = path.read_text().lstrip("\x00").splitlines()
    offsets: dict[int, int] = {}
    for topic in json.loads(lines[-1]).values():
        offsets.update({int(p): int(o) for p, o in topic.items()})
    return dict(sorted(offsets.items()))


def written_at(checkpoint: str | Path, log: str, batch_id: int) -> datetime:
    """When ``offsets/N`` or ``commits/N`` was written (the file's time; naive local time)."""
    if log not in {"commits", "offsets"}:
        raise LabError(f"A checkpoint's logs are 'commits' and 'offsets', not {log!r}.")
    return datetime.fromtimestamp((Path(checkpoint) / log / str(batch_id)).stat().st_mtime)


def batch_that_read(
    history: Sequence[OffsetsFile], partition: int, offset: int
) -> OffsetsFile | None:
    """The batch of ``history`` (oldest first) that read the record at ``partition``/``offset``.

    Offsets only grow, so it is the first batch whose end offset for that partition is past the
    record's; None when no committed batch has read it yet.
    """
    return next((b for b in history if b.end_offsets.get(partition, -1) > offset), None)


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
