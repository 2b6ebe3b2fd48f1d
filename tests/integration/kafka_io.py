"""Producing to and consuming from the real broker in tests."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from realtime_mkt.catalogue import topic
from realtime_mkt.settings import Settings


def produce(
    settings: Settings,
    records: list[tuple[str, bytes | None, bytes]],
    orders_partition: int | None = None,
) -> list[tuple[str, int, int]]:
    """Send (logical topic, key, raw value) records in order; return (topic, partition, offset) of each.

    Orders are keyed by `order_id`, so lines of one SKU reach the worker from several partitions in
    no fixed order. Tests that compare with a sequential replay pin orders to one partition.
    """
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    try:
        futures = [
            producer.send(
                topic(name).full_name(settings),
                key=key,
                value=raw,
                partition=orders_partition if name == "orders" else None,
            )
            for name, key, raw in records
        ]
        producer.flush()
        return [(m.topic, m.partition, m.offset) for m in (f.get(timeout=30) for f in futures)]
    finally:
        producer.close()


def produce_in_order(settings: Settings, values: list[tuple[str, dict[str, Any]]]) -> None:
    """Send JSON values keyed by their topic's key field, keeping each SKU's events in order."""
    records = [(name, v[topic(name).key].encode(), json.dumps(v).encode()) for name, v in values]
    produce(settings, records, orders_partition=0)


def consume(
    settings: Settings, name: str, count: int, timeout: float = 60, settle: float = 3.0
) -> list[Any]:
    """Read `name` from the beginning until `count` records arrived, then `settle` s more for extras."""
    return consume_until(settings, name, lambda records: len(records) >= count, timeout, settle)


def consume_decisions(
    settings: Settings, name: str, wanted: set[str], timeout: float = 90
) -> list[Any]:
    """Read decisions until every wanted `decision_id` arrived (repeats do not count), then 3 s more."""

    def complete(records: list[Any]) -> bool:
        return wanted <= {json.loads(r.value)["decision_id"] for r in records}

    return consume_until(settings, name, complete, timeout, settle=3.0)


def consume_until(
    settings: Settings, name: str, done: Callable[[list[Any]], bool], timeout: float, settle: float
) -> list[Any]:
    """Read `name` from the beginning until `done(records)`, then `settle` s more for extras."""
    consumer = KafkaConsumer(
        topic(name).full_name(settings),
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    extra_until = None
    try:
        while time.monotonic() < deadline and (
            extra_until is None or time.monotonic() < extra_until
        ):
            for batch in consumer.poll(timeout_ms=250).values():
                records.extend(batch)
            if extra_until is None and done(records):
                extra_until = time.monotonic() + settle
        return records
    finally:
        consumer.close()


def members_partitions(settings, logical: str = "inventory") -> list[set[int]]:
    """The partitions of topic `logical` each member of the worker group is assigned, once the
    group is stable (empty until then)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        group = admin.describe_groups([settings.app_id])[settings.app_id]
    finally:
        admin.close()
    if group["group_state"] != "Stable":
        return []
    name = topic(logical).full_name(settings)
    return [
        {
            partition
            for assigned in member["member_assignment"]["assigned_partitions"]
            if assigned["topic"] == name
            for partition in assigned["partitions"]
        }
        for member in group["members"]
    ]


def two_members_sharing(settings: Settings, timeout: float = 90) -> list[set[int]]:
    """Each member's `inventory` partitions once the worker group has two members that each
    hold some."""
    deadline = time.monotonic() + timeout
    while len(held := members_partitions(settings)) != 2 or not all(held):
        assert time.monotonic() < deadline, f"the two workers did not share the partitions: {held}"
        time.sleep(0.5)
    return held
