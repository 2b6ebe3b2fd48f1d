"""Consumer lag per topic-partition, as `kafka-consumer-groups --describe` reports it.

LAG = LOG-END-OFFSET − CURRENT-OFFSET (the group's committed offset). Lag in seconds is the age
of the oldest unconsumed record (now − its timestamp), read where the group has lag.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from realtime_mkt.catalogue import topic
from realtime_mkt.ops.text_table import aligned
from realtime_mkt.settings import Settings


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """Lag of one consumer group on one topic-partition."""

    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int
    lag_seconds: float | None


def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The group's committed offset per topic-partition."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="realtime-mkt-lag")
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {tp: meta.offset for tp, meta in offsets.items()}


def group_lag(bootstrap: str, group: str) -> list[PartitionLag]:
    """Lag of `group` on every partition it has committed offsets for."""
    committed = committed_offsets(bootstrap, group)
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
    return aligned(header, body)


def wait_until_consumed(
    settings: Settings, names: list[str], timeout: float, alive: Callable[[], bool]
) -> None:
    """Block until the worker's group has committed up to the end of every partition of `names`.

    `alive` is called on every round; returning False (a stopped worker) ends the wait early.
    """
    partitions = [
        TopicPartition(topic(n).full_name(settings), p)
        for n in names
        for p in range(topic(n).partitions)
    ]
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    behind: dict[TopicPartition, tuple[int | None, int]] = {}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            ends = consumer.end_offsets(partitions)
            try:
                committed = committed_offsets(settings.bootstrap_servers, settings.app_id)
            except KafkaError as error:  # e.g. no group coordinator yet on a fresh broker
                if not error.retriable:
                    raise
                committed = {}  # not yet: poll again
            behind = {
                tp: (committed.get(tp), end)
                for tp, end in ends.items()
                if committed.get(tp, 0) < end
            }
            if not behind:
                return
            time.sleep(0.5)
    finally:
        consumer.close()
    lagging = ", ".join(
        f"{tp.topic}[{tp.partition}] committed {done} of {end}"
        for tp, (done, end) in sorted(behind.items())
    )
    raise TimeoutError(f"the worker did not consume {names} within {timeout}s: {lagging}")


def wait_for_members(
    settings: Settings, members: int, timeout: float, alive: Callable[[], bool]
) -> None:
    """Block until the worker group is stable with `members` members."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            group = admin.describe_groups([settings.app_id])[settings.app_id]
            if group["group_state"] == "Stable" and len(group["members"]) == members:
                return
            time.sleep(0.5)
    finally:
        admin.close()
    raise TimeoutError(f"{members} workers did not join {settings.app_id} within {timeout}s")
