"""The bulk restore of table partitions from their changelogs (stored zstd-compressed) on the
real broker: what Faust's recovery would write, from the persisted offset on."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
import rocksdict
from aiokafka import TopicPartition
from faust.stores.rocksdb import RocksDBOptions, Store
from kafka import KafkaProducer

from realtime_mkt.catalogue import topic
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.streaming.app import TABLE_OPTIONS
from realtime_mkt.streaming.bulk_restore import end_offsets, restore, restore_in_processes
from realtime_mkt.worker_process import free_port, stop_worker
from tests.helpers import T0, inventory, opening
from tests.integration.conftest import RunningWorker
from tests.integration.kafka_io import produce_in_order, two_members_sharing
from tests.integration.web import get

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


def test_partitions_handed_over_are_judged_on_their_changelogs_end_when_they_come(
    fresh_settings, tmp_path
):
    """A worker that has run a while takes over partitions whose SKU changelogs grew meanwhile
    past `bulk_restore_min_records`: it restores them in bulk, judged on the end offsets read
    as they come (read when it started, they were too old), and its views show their state."""
    first = replace(fresh_settings, standby_replicas=0, bulk_restore_min_records=100)
    second = replace(
        first, web_enabled=True, web_port=free_port(), data_dir=first.data_dir.parent / "second"
    )
    create_topics(first)
    skus = [f"sku-{i}" for i in range(40)]
    workers = [RunningWorker(first, tmp_path)]
    try:
        workers[0].open_market([v for sku in skus for v in opening(sku, 1000)])
        (tmp_path / "second").mkdir()
        workers.append(RunningWorker(second, tmp_path / "second"))
        held = two_members_sharing(first)
        workers[1].wait_ready()
        for n in range(30):  # each round a batch of its own: every SKU's state written again
            receipts = [inventory(f"r{n}-{s}", T0 + 60 + n, s, "receipt", 1) for s in skus]
            produce_in_order(first, [("inventory", r) for r in receipts])
            time.sleep(0.2)
        workers[0].wait_idle(["inventory"])
        name = topic("sku-state-changelog").full_name(first)
        ends = asyncio.run(end_offsets(first.bootstrap_servers, changelog_partitions(name)))
        assert all(end >= 150 for end in ends.values()), ends  # over 100 since the second began

        stop_worker(workers[0].process)
        # the stopped worker's partitions, each restored in bulk (logged one line per partition
        # once all are written: read between two lines, the log named one of them, in CI)
        deadline = time.monotonic() + 90
        while (restored := bulk_restored(workers[1].log_since_restart(), name)) not in held:
            workers[1].assert_alive()
            assert time.monotonic() < deadline, (restored, held, workers[1].log_tail())
            time.sleep(0.5)
        workers[1].wait_idle(["inventory"])
        deadline = time.monotonic() + 60
        for sku in skus:
            # a view answers 503 "restoring, retry" until its partition is recovered: after the
            # bulk restore, Faust's recovery reads what came meanwhile (met in one CI run of four)
            while (answer := get(second.web_port, f"/sku/{sku}"))[0] == 503:
                assert time.monotonic() < deadline, (sku, answer, workers[1].log_tail())
                time.sleep(0.5)
            status, body = answer
            assert status == 200 and body["on_hand"] == 1030, (sku, body)
    finally:
        for worker in workers:
            stop_worker(worker.process)


def changelog_partitions(name: str) -> list[TopicPartition]:
    return [TopicPartition(name, p) for p in range(topic("inventory").partitions)]


def bulk_restored(log: str, changelog_name: str) -> set[int]:
    """The partitions of `changelog_name` the worker's log says it restored in bulk."""
    pattern = rf"restored \d+ records of {re.escape(changelog_name)}\[(\d+)\] in bulk"
    return {int(p) for p in re.findall(pattern, log)}
