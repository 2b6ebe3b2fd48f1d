"""The bulk restore of table partitions from their changelogs (stored zstd-compressed) on the
real broker: what Faust's recovery would write, from the persisted offset on."""

from __future__ import annotations

import pytest
import rocksdict
from aiokafka import TopicPartition
from faust.stores.rocksdb import Store
from kafka import KafkaProducer

from realtime_mkt.catalogue import topic
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.streaming.bulk_restore import restore

pytestmark = pytest.mark.integration


def test_restore_writes_the_latest_value_of_each_key_from_the_persisted_offset_on(
    fresh_settings, tmp_path
):
    create_topics(fresh_settings)
    name = topic("sku-state-changelog").full_name(fresh_settings)
    producer = KafkaProducer(bootstrap_servers=fresh_settings.bootstrap_servers)
    for partition, records in {
        0: [(b"k1", b"v1"), (b"k2", b"v2"), (b"k1", b"v1b"), (b"k2", None), (b"k3", b"v3")],
        1: [(b"old", b"seen"), (b"new", b"n1")],
    }.items():
        for key, value in records:
            producer.send(name, key=key, value=value, partition=partition)
    producer.flush()
    producer.close()

    def database(partition: int) -> rocksdict.Rdict:
        options = rocksdict.Options(raw_mode=True)
        return rocksdict.Rdict(str(tmp_path / f"p{partition}.db"), options=options)

    first, second = database(0), database(1)
    second.put(b"old", b"seen")  # offset 0 restored before
    second.put(Store.offset_key, b"0")
    partitions = {
        TopicPartition(name, 0): (first, None),
        TopicPartition(name, 1): (second, 0),
        TopicPartition(name, 2): (database(2), None),  # an empty partition
    }
    written = restore(fresh_settings.bootstrap_servers, partitions, Store.offset_key)
    assert written == {TopicPartition(name, 0): 5, TopicPartition(name, 1): 1}
    assert dict(first.items()) == {b"k1": b"v1b", b"k3": b"v3", Store.offset_key: b"4"}
    assert dict(second.items()) == {b"old": b"seen", b"new": b"n1", Store.offset_key: b"1"}
    for db in (first, second):
        db.close()
