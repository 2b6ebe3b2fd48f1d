"""The outbox hands a batch's records to the producer in order and reports failed deliveries;
a changelog table reads its RocksDB store once per key read, in Faust's JSON."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from types import SimpleNamespace

import faust
import orjson
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from faust.types import TP

from realtime_mkt.streaming.fatal import EXIT_UNDELIVERED
from realtime_mkt.streaming.outbox import ChangelogTable, Outbox


class RecordingProducer:
    """Stands in for aiokafka's producer: real record batches, appended to partitions known
    from its metadata (learnt on first use, as the real one waits for it); `send_batch`
    returns the batch's delivery future."""

    def __init__(self, batch_size: int = 262_144) -> None:
        self.batch_size = batch_size
        self.topics = {"p.order-lines": 4, "p.dead-letter": 1, "p.changelog": 2}
        self.known: dict[str, set[int]] = {}
        self.client = SimpleNamespace(
            cluster=SimpleNamespace(partitions_for_topic=self.known.get),
            _wait_on_metadata=self._wait_on_metadata,
        )
        self.batches: list[tuple[str, int, list[tuple[bytes | None, bytes | None]]]] = []
        self.deliveries: list[asyncio.Future] = []

    async def _wait_on_metadata(self, topic: str) -> None:
        self.known[topic] = set(range(self.topics[topic]))

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int):
        await asyncio.sleep(0)  # let other tasks run mid-flush, as a real append may
        records = [(r.key, r.value) for r in DefaultRecordBatch(bytes(batch._build()))]
        self.batches.append((topic, partition, records))
        delivery = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery

    @property
    def sent(self) -> list[tuple[str, bytes | None, bytes | None]]:
        return [(topic, k, v) for topic, _, records in self.batches for k, v in records]


def outbox(
    producer: RecordingProducer | None = None, undelivered: list | None = None
) -> tuple[Outbox, RecordingProducer]:
    producer = producer or RecordingProducer()
    app = SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer))
    topics = {"order-lines": "p.order-lines", "dead-letter": "p.dead-letter"}
    report = None if undelivered is None else lambda n, error: undelivered.append((n, error))
    return Outbox(app, topics, report), producer


def metadata(topic: str, partition: int, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=topic, partition=partition, offset=offset)


def test_records_go_in_one_batch_per_partition_as_kafkas_partitioner_puts_them():
    box, producer = outbox()
    keys = [f"sku-{n}".encode() for n in range(12)]

    async def run() -> None:
        for n, key in enumerate(keys):
            box.add("order-lines", key, {"n": n})
        box.add("dead-letter", None, {"error": "bad"})
        assert producer.batches == []  # nothing leaves before the flush
        await box.flush()

    asyncio.run(run())
    partitioner = DefaultPartitioner()
    for n, key in enumerate(keys):  # each where aiokafka's own `send` would have put it
        partition = partitioner(key, [0, 1, 2, 3], [0, 1, 2, 3])
        (records,) = [r for t, p, r in producer.batches if (t, p) == ("p.order-lines", partition)]
        assert (key, f'{{"n":{n}}}'.encode()) in records
    per_partition = [(t, p) for t, p, _ in producer.batches]
    assert len(per_partition) == len(set(per_partition)) == 5  # one batch each: 4 + dead letter
    for _, _, records in producer.batches:  # each partition's records in the order added
        order = [keys.index(k) for k, _ in records if k is not None]
        assert order == sorted(order)
    assert ("p.dead-letter", None, b'{"error":"bad"}') in producer.sent
    assert box.records == []


def test_a_full_batch_is_followed_by_another_in_order():
    box, producer = outbox(RecordingProducer(batch_size=200))

    async def run() -> None:
        for n in range(10):
            box.add("dead-letter", b"k", {"n": n, "pad": "x" * 40})
        await box.flush()

    asyncio.run(run())
    assert len(producer.batches) > 1
    assert [orjson.loads(v)["n"] for _, _, v in producer.sent] == list(range(10))


class RecordingTable:
    """Stands in for a `ChangelogTable`: its changelog topic, and the offsets it was told of."""

    changelog_topic_name = "p.changelog"

    def __init__(self) -> None:
        self.persisted: list[tuple[TP, int]] = []
        self.data = SimpleNamespace(
            set_persisted_offset=lambda tp, o: self.persisted.append((tp, o))
        )

    def on_changelog_delivered(self, records: int, delivery: asyncio.Future) -> None:
        ChangelogTable.on_changelog_delivered(self, records, delivery)


def test_table_changelog_records_go_with_the_batch_after_its_outputs():
    """Faust's own buffer may still hold a changelog record when it commits; the outbox may not.
    Outputs go first, so decisions do not wait behind state; each kind keeps its order. The
    table keeps the offset of the last record of each partition, once delivered."""
    box, producer = outbox()
    table = RecordingTable()

    async def run() -> None:
        box.add_changelog(table, 0, b"decisions", b"{}")
        box.add("dead-letter", None, {"error": "bad"})
        box.add_changelog(table, 1, b"sku-1", b"{}")
        box.add_changelog(table, 0, b"sku-2", None)
        await box.flush()
        for delivery, (topic, partition, _) in zip(
            producer.deliveries, producer.batches, strict=True
        ):
            delivery.set_result(metadata(topic, partition, 40))  # each batch's first offset
        await asyncio.sleep(0)  # done callbacks run on the next loop turn

    asyncio.run(run())
    assert producer.batches == [
        ("p.dead-letter", 0, [(None, b'{"error":"bad"}')]),
        ("p.changelog", 0, [(b"decisions", b"{}"), (b"sku-2", None)]),
        ("p.changelog", 1, [(b"sku-1", b"{}")]),
    ]
    assert sorted(table.persisted) == [(TP("p.changelog", 0), 41), (TP("p.changelog", 1), 40)]
    assert box.records == [] and box.changelog == []


def test_a_table_keeps_no_offset_of_a_failed_delivery():
    table = RecordingTable()

    async def run() -> None:
        failed = asyncio.get_running_loop().create_future()
        failed.set_exception(RuntimeError("broker gone"))
        table.on_changelog_delivered(3, failed)

    asyncio.run(run())
    assert table.persisted == []


def test_a_flush_returns_only_once_its_records_are_in_the_producer():
    """Agent B queued a record, then agent A's flush took it along: B's own flush must wait for
    A's to finish appending, or B would acknowledge its batch before its output is produced."""
    box, producer = outbox()
    sent_when_b_returned: list[int] = []

    async def run() -> None:
        box.add("dead-letter", b"b", {"agent": "b"})
        box.add("order-lines", b"a", {"agent": "a"})
        flush_a = asyncio.create_task(box.flush())
        await asyncio.sleep(0)  # A's flush has taken both records and is appending them
        await box.flush()
        sent_when_b_returned.append(len(producer.sent))
        await flush_a

    asyncio.run(run())
    assert sent_when_b_returned == [2]


def test_a_failed_delivery_is_reported_with_its_records_and_error():
    failures: list = []
    box, producer = outbox(undelivered=failures)
    gone = RuntimeError("broker gone")

    async def run() -> None:
        box.add("dead-letter", b"sku-1", {"n": 1})
        box.add("dead-letter", b"sku-2", {"n": 2})
        box.add("order-lines", b"sku-3", {"n": 3})
        await box.flush()
        producer.deliveries[0].set_exception(gone)
        producer.deliveries[1].set_result(metadata("p.order-lines", 0, 0))
        await asyncio.sleep(0)  # done callbacks run on the next loop turn

    asyncio.run(run())
    assert failures == [(2, gone)]


def test_by_default_a_failed_delivery_ends_the_process_at_once_with_its_status():
    """Nothing after it may run: no commit of the inputs, no state stored (as a kill)."""
    script = (
        "import asyncio, logging\n"
        "from tests.unit.test_outbox import outbox\n"
        "logging.basicConfig()\n"  # the worker's log, as Faust sets it up
        "box, producer = outbox()\n"
        "async def run():\n"
        "    box.add('dead-letter', b'k', {'n': 1})\n"
        "    await box.flush()\n"
        "    producer.deliveries[0].set_exception(RuntimeError('broker gone'))\n"
        "    await asyncio.sleep(0)\n"
        "    print('still running')\n"
        "asyncio.run(run())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == EXIT_UNDELIVERED, done.stderr
    assert "still running" not in done.stdout
    assert "1 produced records were not delivered: RuntimeError('broker gone')" in done.stderr


def test_a_delivered_flush_returns_once_the_broker_has_its_records():
    """The click agent stores user states only after such a flush: until the broker has the
    signals, a crash must leave the clicks unseen, to be replayed."""
    box, producer = outbox()

    async def run() -> None:
        box.add("dead-letter", b"sku-1", {"n": 1})
        box.add("order-lines", b"sku-2", {"n": 2})
        flushing = asyncio.create_task(box.flush(delivered=True))
        for _ in range(5):  # the records are in the producer, one batch is not yet acknowledged
            await asyncio.sleep(0)
        producer.deliveries[0].set_result(metadata("p.dead-letter", 0, 0))
        await asyncio.sleep(0)
        assert len(producer.sent) == 2 and not flushing.done()
        producer.deliveries[1].set_result(metadata("p.order-lines", 0, 0))
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
