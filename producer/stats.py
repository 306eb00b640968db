"""What a producer run did: records sent, acknowledged and failed, the modes' counts, the progress line.

>>> stats = ProduceStats(sent=1_200, acknowledged=1_150, elapsed_s=2.0, target_rate=600)
>>> stats.pending
50
>>> stats.line()
'sent 1,200 · acknowledged 1,150 · failed 0 · 600.0/s (target 600) · 2.0 s'
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message

from producer.modes import BEYOND_WATERMARK, DUPLICATE, LATE, MALFORMED, WATERMARK_SECONDS

__all__ = ["ProduceStats"]


@dataclass
class ProduceStats:
    """What a producer run did; ``rate`` is the achieved rate in records per second.

    ``sent`` counts every record handed to Kafka, duplicates and malformed records included;
    ``late``, ``duplicates`` and ``malformed`` count the teaching modes' records among them.
    """

    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    late: int = 0
    duplicates: int = 0
    malformed: int = 0
    elapsed_s: float = 0.0
    #: late records set back by more than the watermark delay (10 minutes)
    late_beyond_watermark: int = 0
    target_rate: float | None = None
    interrupted: bool = False
    last_error: str | None = None
    flushing: bool = field(default=False, repr=False)
    #: the keys (order ids) of the first two orders acknowledged: ids a learner can look up
    first_keys: list[bytes | None] = field(default_factory=list, repr=False)

    @property
    def rate(self) -> float:
        """Records sent per second of sending."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def pending(self) -> int:
        """Records sent but neither acknowledged nor failed yet."""
        return self.sent - self.acknowledged - self.failed

    def on_delivery(self, error: KafkaError | None, message: Message) -> None:
        """The delivery callback: librdkafka calls it once per record, from ``poll``/``flush``."""
        if error is None:
            self.acknowledged += 1
            if len(self.first_keys) < 2 and message.key() not in self.first_keys:
                self.first_keys.append(message.key())
        else:
            self.failed += 1
            self.last_error = error.str()

    def count_tags(self, tags: int) -> None:
        """Count one record that the teaching modes touched (``tags`` from :mod:`producer.modes`)."""
        if tags & LATE:
            self.late += 1
            if tags & BEYOND_WATERMARK:
                self.late_beyond_watermark += 1
        if tags & DUPLICATE:
            self.duplicates += 1
        if tags & MALFORMED:
            self.malformed += 1

    def order_ids(self) -> list[str]:
        """The order ids of the first records acknowledged (for ``make where ID=...``)."""
        return [key.decode("utf-8", "replace") for key in self.first_keys if key]

    def line(self, *, modes: bool = True) -> str:
        """The progress line: counts, actual vs target rate, elapsed time."""
        rate = f"{self.rate:,.1f}/s"
        if self.target_rate:
            rate += f" (target {self.target_rate:,.6g})"
        parts = [
            f"sent {self.sent:,}",
            f"acknowledged {self.acknowledged:,}",
            f"failed {self.failed:,}",
            rate,
        ]
        if modes and self.late:
            beyond = f"{self.late_beyond_watermark:,} > {WATERMARK_SECONDS / 60:g} min"
            parts.append(f"late {self.late:,} ({beyond})")
        if modes and self.duplicates:
            parts.append(f"duplicates {self.duplicates:,}")
        if modes and self.malformed:
            parts.append(f"malformed {self.malformed:,}")
        parts.append(f"{self.elapsed_s:,.1f} s")
        if self.flushing:
            parts.append(f"flushing {self.pending:,}…")
        if self.failed and self.last_error:
            parts.append(f"last error: {self.last_error}")
        return " · ".join(parts)
