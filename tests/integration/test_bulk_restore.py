"""The bulk restore of table partitions from their changelogs (stored zstd-compressed) on the
real broker: what Faust's recovery would write, from the persisted offset on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import rocksdict
from aiokafka import TopicPartition
from faust.stores.rocksdb import RocksDBOptions, Store
from kafka import KafkaProducer

from realtime_mkt.catalogue import topic
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.streaming.app import TABLE_OPTIONS
from realtime_mkt.streaming.bulk_restore import restore, restore_in_processes

pytestmark = pytest.mark.integration

CHANGELOG = {
    0: [(b"k1", b"v1"), (b"k2", b"v2"), (b"k1", b"v1b"), (b"k2", None), (b"k3", b"v3")],
    1: [(b"old", b"seen"), (b"new", b"n1")],
}
RESTORED = {  # partition 1 held offset 0 before
    0: {b"k1": b"v1b", b"k3": b"v3", Store.offset_key: b"4"},
    1: {b"old": b"seen", b"new": b"n1", Store.offset_key: b"1"},
}


@pytest.fixture
def changelog(fresh_settings) -> str:
    """The SKU table's changelog name, with `CHANGELOG`'s records on partitions 0 and 1."""
    create_topics(fresh_settings)
    name = topic("sku-state-changelog").full_name(fresh_settings)
    producer = KafkaProducer(bootstrap_servers=fresh_settings.bootstrap_servers)
    for partition, records in CHANGELOG.items():
        for key, value in records:
            producer.send(name, key=key, value=value, partition=partition)
    producer.flush()
    producer.close()
    return name


def opened(options: RocksDBOptions, path: Path, stored: dict[bytes, bytes]) -> rocksdict.Rdict:
    database = options.open(path)
    for key, value in stored.items():
        database.put(key, value)
    return database


def test_restore_writes_the_latest_value_of_each_key_from_the_persisted_offset_on(
    fresh_settings, changelog, tmp_path
):
    options = RocksDBOptions(**TABLE_OPTIONS)
    first = opened(options, tmp_path / "p0.db", {})
    second = opened(options, tmp_path / "p1.db", {b"old": b"seen", Store.offset_key: b"0"})
    partitions = {
        TopicPartition(changelog, 0): (first, None),
        TopicPartition(changelog, 1): (second, 0),
        TopicPartition(changelog, 2): (opened(options, tmp_path / "p2.db", {}), None),  # empty
    }
    written = restore(fresh_settings.bootstrap_servers, partitions, Store.offset_key)
    assert written == {TopicPartition(changelog, 0): 5, TopicPartition(changelog, 1): 1}
    assert dict(first.items()) == RESTORED[0]
    assert dict(second.items()) == RESTORED[1]
    for database, _ in partitions.values():
        database.close()


def test_child_processes_restore_closed_databases_and_a_failed_one_is_left_as_it_was(
    fresh_settings, changelog, tmp_path
):
    options = RocksDBOptions(**TABLE_OPTIONS)
    opened(options, tmp_path / "p1.db", {b"old": b"seen", Store.offset_key: b"0"}).close()
    paths = {p: tmp_path / f"p{p}.db" for p in range(3)}
    partitions = {
        TopicPartition(changelog, 0): (paths[0], None, 5),
        TopicPartition(changelog, 1): (paths[1], 0, 1),
    }
    written = asyncio.run(
        restore_in_processes(
            fresh_settings.bootstrap_servers, partitions, options, Store.offset_key
        )
    )
    assert written == {TopicPartition(changelog, 0): 5, TopicPartition(changelog, 1): 1}
    for p in (0, 1):
        database = options.open(paths[p])
        assert dict(database.items()) == RESTORED[p]
        database.close()

    held = opened(options, paths[2], {b"mine": b"kept"})  # the reader cannot open it
    failed = asyncio.run(
        restore_in_processes(
            fresh_settings.bootstrap_servers,
            {TopicPartition(changelog, 0): (paths[2], None, 5)},
            options,
            Store.offset_key,
        )
    )
    assert failed == {}
    assert dict(held.items()) == {b"mine": b"kept"}
    held.close()
