"""Consumer lag per topic-partition, as `kafka-consumer-groups --describe` reports it.

LAG = LOG-END-OFFSET − CURRENT-OFFSET (the group's committed offset). Lag in seconds is the age
of the oldest unconsumed record (now − its timestamp), read where the group has lag.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Lag of one consumer group on one topic-partition."""

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int
    lag_seconds: float | None


def group_lag(bootstrap: str, group: str) -> list[PartitionLag]:
    """Lag of `group` on every partition it has committed offsets for."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="realtime-mkt-lag")
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
        committed = {tp: meta.offset for tp, meta in offsets.items()}
    finally:
        admin.close()
    if not committed:
        return []
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        ends = consumer.end_offsets(list(committed))
        rows = []
        now = time.time()
        for tp in sorted(committed, key=lambda t: (t.topic, t.partition)):
            current = committed[tp] if committed[tp] >= 0 else None
            lag = ends[tp] - (current or 0)
            seconds = _oldest_unconsumed_age(consumer, tp, current or 0, now) if lag > 0 else 0.0
            rows.append(PartitionLag(tp.topic, tp.partition, current, ends[tp], lag, seconds))
        return rows
    finally:
        consumer.close()


def _oldest_unconsumed_age(
    consumer: KafkaConsumer, tp: TopicPartition, offset: int, now: float
) -> float | None:
    consumer.assign([tp])
    consumer.seek(tp, offset)
    records = consumer.poll(timeout_ms=2000, max_records=1).get(tp, [])
    return round(now - records[0].timestamp / 1000.0, 3) if records else None


def format_table(rows: list[PartitionLag]) -> str:
    """The rows as an aligned text table with kafka-consumer-groups' column names."""
    header = ("TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "LAG-SECONDS")
    body = [
        (r.topic, str(r.partition), "-" if r.committed is None else str(r.committed), str(r.end),
         str(r.lag), "-" if r.lag_seconds is None else f"{r.lag_seconds:.1f}")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [header, *body]
    )
