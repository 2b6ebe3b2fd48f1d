"""The outbox hands a batch's records to the producer in order and reports failed deliveries;
a changelog table reads its RocksDB store once per key read, in Faust's JSON."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import faust
from faust.types import TP

from realtime_mkt.streaming import metrics
from realtime_mkt.streaming.outbox import ChangelogTable, Outbox


class RecordingProducer:
    """Appends like aiokafka's producer: `send` returns the record's delivery future."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []
        self.partitions: list[int | None] = []
        self.deliveries: list[asyncio.Future] = []

    async def send(self, topic, key, value, partition, timestamp, headers) -> asyncio.Future:
        await asyncio.sleep(0)  # let other tasks run mid-flush, as a real append may
        self.sent.append((topic, key, value))
        self.partitions.append(partition)
        delivery = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery


def outbox() -> tuple[Outbox, RecordingProducer]:
    producer = RecordingProducer()
    app = SimpleNamespace(producer=producer)
    return Outbox(app, {"order-lines": "p.order-lines", "dead-letter": "p.dead-letter"}), producer


def test_records_reach_the_producer_in_order_as_compact_json():
    box, producer = outbox()

    async def run() -> None:
        box.add("order-lines", b"sku-1", {"n": 1})
        box.add("dead-letter", None, {"error": "bad"})
        box.add("order-lines", b"sku-2", {"n": 2})
        assert producer.sent == []  # nothing leaves before the flush
        await box.flush()

    asyncio.run(run())
    assert producer.sent == [
        ("p.order-lines", b"sku-1", b'{"n":1}'),
        ("p.dead-letter", None, b'{"error":"bad"}'),
        ("p.order-lines", b"sku-2", b'{"n":2}'),
    ]
    assert box.records == []


class RecordingTable:
    """Stands in for a `ChangelogTable`: its changelog topic, and the deliveries it was told of."""

    changelog_topic_name = "p.changelog"

    def __init__(self) -> None:
        self.delivered: list[asyncio.Future] = []

    def on_changelog_delivered(self, delivery: asyncio.Future) -> None:
        self.delivered.append(delivery)


def test_table_changelog_records_go_with_the_batch_after_its_outputs():
    """Faust's own buffer may still hold a changelog record when it commits; the outbox may not.
    Outputs go first, so decisions do not wait behind state; each kind keeps its order. The
    table hears of the last record of each partition (it keeps that offset)."""
    box, producer = outbox()
    table = RecordingTable()

    async def run() -> None:
        box.add_changelog(table, 0, b"decisions", b"{}")
        box.add("order-lines", b"sku-1", {"n": 1})
        box.add_changelog(table, 1, b"sku-1", b"{}")
        box.add_changelog(table, 0, b"sku-2", None)
        box.add("dead-letter", None, {"error": "bad"})
        await box.flush()
        for delivery in producer.deliveries:
            delivery.set_result("metadata")
        await asyncio.sleep(0)  # done callbacks run on the next loop turn

    asyncio.run(run())
    assert producer.sent == [
        ("p.order-lines", b"sku-1", b'{"n":1}'),
        ("p.dead-letter", None, b'{"error":"bad"}'),
        ("p.changelog", b"decisions", b"{}"),
        ("p.changelog", b"sku-1", b"{}"),
        ("p.changelog", b"sku-2", None),
    ]
    assert producer.partitions[2:] == [0, 1, 0]
    assert table.delivered == [producer.deliveries[3], producer.deliveries[4]]  # sku-1, sku-2
    assert box.records == [] and box.changelog == []


def test_a_table_keeps_the_offset_its_changelog_reached_once_delivered():
    persisted: list[tuple[TP, int]] = []
    table = SimpleNamespace(
        data=SimpleNamespace(set_persisted_offset=lambda tp, offset: persisted.append((tp, offset)))
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        delivered, failed = loop.create_future(), loop.create_future()
        delivered.set_result(SimpleNamespace(topic="p.changelog", partition=3, offset=41))
        failed.set_exception(RuntimeError("broker gone"))
        for delivery in (delivered, failed):
            ChangelogTable.on_changelog_delivered(table, delivery)

    asyncio.run(run())
    assert persisted == [(TP("p.changelog", 3), 41)]


def test_a_flush_returns_only_once_its_records_are_in_the_producer():
    """Agent B queued a record, then agent A's flush took it along: B's own flush must wait for
    A's to finish appending, or B would acknowledge its batch before its output is produced."""
    box, producer = outbox()
    sent_when_b_returned: list[int] = []

    async def run() -> None:
        box.add("order-lines", b"b", {"agent": "b"})
        box.add("order-lines", b"a", {"agent": "a"})
        flush_a = asyncio.create_task(box.flush())
        await asyncio.sleep(0)  # A's flush has taken both records and is appending them
        await box.flush()
        sent_when_b_returned.append(len(producer.sent))
        await flush_a

    asyncio.run(run())
    assert sent_when_b_returned == [2]


def test_a_failed_delivery_is_counted():
    box, producer = outbox()
    before = metrics.SEND_ERRORS._value.get()

    async def run() -> None:
        box.add("order-lines", b"sku-1", {"n": 1})
        box.add("order-lines", b"sku-2", {"n": 2})
        await box.flush()
        producer.deliveries[0].set_result("metadata")
        producer.deliveries[1].set_exception(RuntimeError("broker gone"))
        await asyncio.sleep(0)  # done callbacks run on the next loop turn

    asyncio.run(run())
    assert metrics.SEND_ERRORS._value.get() == before + 1


def test_a_delivered_flush_returns_once_the_broker_has_its_records():
    """The click agent stores user states only after such a flush: until the broker has the
    signals, a crash must leave the clicks unseen, to be replayed."""
    box, producer = outbox()

    async def run() -> None:
        box.add("order-lines", b"sku-1", {"n": 1})
        box.add("order-lines", b"sku-2", {"n": 2})
        flushing = asyncio.create_task(box.flush(delivered=True))
        for _ in range(5):  # the records are in the producer, one is not yet acknowledged
            await asyncio.sleep(0)
        producer.deliveries[0].set_result("metadata")
        await asyncio.sleep(0)
        assert len(producer.sent) == 2 and not flushing.done()
        producer.deliveries[1].set_result("metadata")
        await flushing  # and now it returns

    asyncio.run(run())


class CountingDb:
    """A partition's RocksDB, its reads counted."""

    def __init__(self, db) -> None:
        self.db, self.reads = db, 0

    def get(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self.db.get(key)

    def __getattr__(self, name: str):
        return getattr(self.db, name)


def test_a_table_reads_and_writes_the_named_partition_in_fausts_json_and_views_find_it(
    tmp_path,
):
    app = faust.App("t", store="rocksdb://", datadir=str(tmp_path), broker="kafka://127.0.0.1:1")
    queued = []
    changelog = SimpleNamespace(add_changelog=lambda *record: queued.append(record))
    table = ChangelogTable(app, outbox=changelog, name="s", partitions=2)
    state = {"on_hand": 3, "ids": [2**55, 7], "pend": [{"ts": 1.5e9, "sku_id": "é"}]}
    table.set_in(1, "sku-1", state)
    table.set_in(0, ("pool", "2"), 0.5)
    # the record queued for the changelog, as Faust's own serializers encode it
    assert queued[0] == (table, 1, table.data._encode_key("sku-1"), table.data._encode_value(state))
    db = table.data._dbs[1] = CountingDb(table.data._db_for_partition(1))
    assert table.get_in(1, "sku-1") == state
    assert table.get_in(1, "sku-2", "none") == "none"
    assert table.get_in(0, "sku-1") is None  # another partition's store
    assert db.reads == 2  # one RocksDB read per key read (Faust's `get` reads a stored key twice)
    assert table.get_in(0, ("pool", "2")) == 0.5
    # as Faust's recovery and iteration decode the stored records
    decode = table.data._decode_value
    assert [decode(value) for _, value in table.data._dbs[1].db.items()] == [state]
    assert [table.data._decode_key(key) for key, _ in table.data._dbs[0].items()] == [["pool", "2"]]
    # a web view reads outside any batch: every partition is looked in
    assert table.get("sku-1") == state and table.get("sku-2") is None
