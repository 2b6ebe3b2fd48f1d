"""A worker's standby copies of another worker's SKU states, written straight from its consumer
(`streaming/standby.py`), hold what the changelog holds, up to the offset they record; its
/metrics reports how far each copy is behind."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from faust.stores.rocksdb import RocksDBOptions, Store
from kafka import KafkaConsumer, TopicPartition

from realtime_mkt.catalogue import topic
from realtime_mkt.ops.lag import wait_for_members
from realtime_mkt.settings import Settings
from realtime_mkt.streaming.app import TABLE_OPTIONS
from realtime_mkt.worker_process import free_port, stop_worker
from tests.helpers import T0, opening, order
from tests.integration.conftest import RunningWorker
from tests.integration.kafka_io import produce
from tests.integration.web import get

pytestmark = pytest.mark.integration

SKUS = [f"sku-{i}" for i in range(16)]
PER_SKU = 150
STANDBY_CATCH_UP = 5.0  # seconds the second worker is given to read the last changelog records


def changelog(settings: Settings) -> dict[int, tuple[dict[bytes, bytes], int]]:
    """Partition -> (each key's latest value, deletions dropped; the last offset) of the SKU
    table's changelog, read to its end."""
    name = topic("sku-state-changelog").full_name(settings)
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    try:
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name)]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        latest: dict[int, dict[bytes, bytes | None]] = {tp.partition: {} for tp in partitions}
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    latest[tp.partition][record.key] = record.value
        return {
            tp.partition: (
                {k: v for k, v in latest[tp.partition].items() if v is not None},
                ends[tp] - 1,
            )
            for tp in partitions
        }
    finally:
        consumer.close()


def stored(path: Path) -> dict[bytes, bytes]:
    """A stopped worker's store, opened as the worker opens it."""
    database = RocksDBOptions(**TABLE_OPTIONS).open(path)
    try:
        return dict(database.items())
    finally:
        database.close()


def test_a_standby_copy_holds_the_changelog_up_to_its_offset(web_worker, tmp_path):
    first = web_worker
    first.open_market([value for sku in SKUS for value in opening(sku, 10 * PER_SKU)])
    second_dir = tmp_path / "second"
    second = RunningWorker(
        replace(first.settings, web_port=free_port(), data_dir=second_dir / "state"), second_dir
    )
    try:
        wait_for_members(first.settings, 2, 120, lambda: second.process.poll() is None)
        second.wait_ready()
        orders = [
            order(f"s-{i}", T0 + 60 + i, [(SKUS[i % len(SKUS)], 1)])
            for i in range(len(SKUS) * PER_SKU)
        ]
        produce(
            first.settings,
            [("orders", o["order_id"].encode(), json.dumps(o).encode()) for o in orders],
        )
        first.wait_idle(["orders", "order-lines"], timeout=180)
        time.sleep(STANDBY_CATCH_UP)
        second.assert_alive()
        _, metrics = get(second.settings.web_port, "/metrics")
    finally:
        stop_worker(second.process)
    changelog_name = topic("sku-state-changelog").full_name(first.settings)
    standby_lags = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("realtime_mkt_standby_lag_records{") and changelog_name in line
    ]
    assert standby_lags and all(lag == 0 for lag in standby_lags), metrics
    expected = changelog(first.settings)
    assert any(values for values, _ in expected.values())
    for partition, (values, last) in expected.items():
        [path] = (second_dir / "state").rglob(f"sku-state-{partition}.db")
        copy = stored(path)
        offset = copy.pop(Store.offset_key)
        assert int(offset) == last, f"partition {partition}"
        assert copy == values, f"partition {partition}"
