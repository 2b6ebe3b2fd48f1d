"""The worker's Kafka consumer fetches again the records Faust's consumer sets aside, and
races each fetch's delivery once (`streaming/consumer.py`): its fetch loop is driven here with a
stand-in consumer thread."""

import asyncio
from collections import defaultdict
from types import SimpleNamespace

from aiokafka import TopicPartition
from faust.transport.utils import DefaultSchedulingStrategy

from realtime_mkt.settings import Settings
from realtime_mkt.streaming.app import create_app
from realtime_mkt.streaming.consumer import FETCH_MAX_WAIT_MS, Consumer
from realtime_mkt.streaming.inbox import Inbox
from realtime_mkt.streaming.standby import StandbyCopies

ORDERS, LINES = TopicPartition("orders", 0), TopicPartition("order-lines", 0)
CHANGELOG = TopicPartition("sku-state-changelog", 1)


class KafkaConsumer:
    """What the loop asks of aiokafka's consumer: each partition's state (its position), and
    seeks."""

    def __init__(self, positions: dict[TopicPartition, int]) -> None:
        self.states = {tp: SimpleNamespace(_position=p) for tp, p in positions.items()}
        self._subscription = SimpleNamespace(subscription=SimpleNamespace(assignment=self))
        self.seeks: list[tuple[TopicPartition, int]] = []

    def state_value(self, tp: TopicPartition) -> SimpleNamespace | None:
        return self.states.get(tp)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))
        self.states[tp]._position = offset


class ConsumerThread:
    def __init__(self, kafka: KafkaConsumer) -> None:
        self.kafka = kafka

    def _ensure_consumer(self) -> KafkaConsumer:
        return self.kafka

    async def call_thread(self, fun, *args):
        return await fun(*args)


def consumer(fetched: dict[TopicPartition, list[int]], active, flow_active=True) -> Consumer:
    """A `Consumer` whose last fetch returned records at `fetched` offsets, with the `active`
    partitions active; each partition's position is past its last record."""
    kafka = KafkaConsumer({tp: offsets[-1] + 1 for tp, offsets in fetched.items()})
    made = Consumer.__new__(Consumer)
    records = {tp: [SimpleNamespace(offset=o) for o in offsets] for tp, offsets in fetched.items()}

    fetches = [records]

    async def wait_next_records(timeout):
        # the loop's fetches: `records` once, nothing after (and the fetch loop stops there)
        if fetches:
            return fetches.pop(), active
        fetcher._stopped.set()
        return None, active

    fetcher = SimpleNamespace(_stopped=asyncio.Event())

    made.__dict__.update(
        app=SimpleNamespace(
            monitor=SimpleNamespace(track_tp_end_offset=lambda tp, end: None),
            topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
            inboxes={},
            flow_control=SimpleNamespace(is_active=lambda: True),
            standby_copies=StandbyCopies(
                SimpleNamespace(
                    tables=SimpleNamespace(
                        recovery=SimpleNamespace(
                            standby_tps=set(), standby_offsets={}, tp_to_table={}
                        )
                    )
                )
            ),
        ),
        fetcher=fetcher,
        _loop=None,
        _stopped=asyncio.Event(),
        _crashed=asyncio.Event(),
        _thread=ConsumerThread(kafka),
        _buffered_partitions=set(),
        scheduler=DefaultSchedulingStrategy(),
        flow_active=flow_active,
        _wait_next_records=wait_next_records,
        highwater=lambda tp: 100,
        _to_message=lambda tp, record: SimpleNamespace(
            tp=tp, topic=tp.topic, offset=record.offset, key=None, value=None
        ),
        diag=SimpleNamespace(set_flag=lambda flag: None, unset_flag=lambda flag: None),
        suspend_flow=asyncio.Event(),
        _commit_every=None,
        _read_offset=defaultdict(lambda: None),
    )
    made._marks = {tp: made._mark(tp) for tp in records}  # as the fetch leaves them
    return made


def fetch(made: Consumer) -> list[tuple[TopicPartition, int]]:
    async def drain():
        return [(tp, message.offset) async for tp, message in made.getmany(timeout=1.0)]

    return asyncio.run(drain())


def test_a_partition_not_active_when_its_records_arrive_is_fetched_again_from_the_first():
    made = consumer({ORDERS: [0, 1, 2], LINES: [7, 8]}, {LINES})
    assert fetch(made) == [(LINES, 7), (LINES, 8)]
    assert made._thread.kafka.seeks == [(ORDERS, 0)]


def test_every_active_partition_is_handed_on_and_nothing_is_sought():
    made = consumer({ORDERS: [4, 5], LINES: [7]}, {ORDERS, LINES})
    assert sorted(fetch(made)) == [(LINES, 7), (ORDERS, 4), (ORDERS, 5)]
    assert made._thread.kafka.seeks == []


def test_records_fetched_while_the_flow_is_stopped_are_fetched_again():
    made = consumer({ORDERS: [3, 4]}, {ORDERS}, flow_active=False)
    assert fetch(made) == []
    assert made._thread.kafka.seeks == [(ORDERS, 3)]


def test_a_partition_sought_since_the_fetch_hands_on_nothing_more_and_stays_where_it_was_sought():
    # a restore ends by seeking the partitions to their committed offsets: the records fetched
    # before come again from there, and handed on now they jumped ahead of the position
    made = consumer({ORDERS: [40, 41], LINES: [7]}, {ORDERS, LINES})
    made._thread.kafka.seek(ORDERS, 12)
    assert fetch(made) == [(LINES, 7)]
    assert made._thread.kafka.seeks == [(ORDERS, 12)]


def test_a_partition_reassigned_since_the_fetch_is_not_moved():
    # the rebalance gave it a position of its own (its committed offset): moving it to where
    # the previous assignment was would skip what lies between
    made = consumer({ORDERS: [40, 41]}, set())
    made._thread.kafka.states[ORDERS] = SimpleNamespace(_position=None)
    assert fetch(made) == []
    assert made._thread.kafka.seeks == []


def test_nothing_is_handed_on_while_the_partitions_are_sought_to_their_committed_offsets():
    # Faust sets its read offsets back only once the seek is done: a record handed on in
    # between was dropped as read already, or taken for the end of a gap in the log
    made = consumer({ORDERS: [12001, 12002]}, {ORDERS})
    made._seeking = 1
    assert fetch(made) == []
    assert made._thread.kafka.seeks == [(ORDERS, 12001)]


def drain(made: Consumer, on_record=None) -> list[tuple[TopicPartition, int]]:
    """Run the fetch loop over the consumer's one fetch; the records it hands to the
    conductor, in order (`on_record` is awaited for each, as the conductor's delivery)."""
    delivered = []

    async def callback(message):
        delivered.append((message.tp, message.offset))
        if on_record is not None:
            await on_record(made, message)

    async def run():
        made.callback = callback
        await made._drain_messages(made.fetcher)

    asyncio.run(run())
    return delivered


def test_a_fetch_is_delivered_in_order_each_record_marked_read_and_a_jump_noted_as_a_gap():
    made = consumer({ORDERS: [3, 4, 7]}, {ORDERS})
    made._read_offset[ORDERS] = 2
    gaps = []

    async def add_gap(tp, start, end):
        gaps.append((tp, start, end))

    made._add_gap = add_gap
    assert drain(made) == [(ORDERS, 3), (ORDERS, 4), (ORDERS, 7)]
    assert made._read_offset[ORDERS] == 7
    assert gaps == [(ORDERS, 5, 7)]


def test_records_already_read_are_not_delivered_again():
    made = consumer({ORDERS: [3, 4, 5]}, {ORDERS})
    made._read_offset[ORDERS] = 4
    assert drain(made) == [(ORDERS, 4), (ORDERS, 5)]


def test_a_rebalance_cuts_a_fetch_short_and_the_records_not_delivered_are_not_marked_read():
    # the conductor waits on a full stream buffer at the second record when the rebalance
    # begins: the rebalance's seek to the committed offsets fetches the rest again
    made = consumer({ORDERS: [0, 1, 2, 3]}, {ORDERS})

    async def buffer_full_at_second(made, message):
        if message.offset == 1:
            made.suspend_flow.set()
            await asyncio.Event().wait()

    assert drain(made, buffer_full_at_second) == [(ORDERS, 0), (ORDERS, 1)]
    assert made._read_offset[ORDERS] == 0


def test_the_records_of_a_topic_with_an_inbox_go_to_it_in_order_not_to_the_conductor():
    made = consumer({ORDERS: [3, 4], LINES: [7]}, {ORDERS, LINES})
    inbox = Inbox(10, 0.01)
    made.app.inboxes["orders"] = inbox
    assert drain(made) == [(LINES, 7)]
    assert [r.message.offset for r in inbox.records] == [3, 4]
    assert made._read_offset[ORDERS] == 4


def test_a_rebalance_while_a_full_inbox_waits_for_its_agent_leaves_the_rest_unread():
    # the inbox holds a whole batch and its agent has not taken it: the delivery waits for
    # room, and the rebalance that cuts it short leaves the records not added unread
    made = consumer({ORDERS: [0, 1, 2]}, {ORDERS})
    inbox = Inbox(2, 0.01)
    made.app.inboxes["orders"] = inbox

    async def conductor(message):
        raise AssertionError(f"{message.offset} went to the conductor")

    made.callback = conductor

    async def run():
        task = asyncio.create_task(made._drain_messages(made.fetcher))
        await asyncio.sleep(0.05)
        assert not task.done()
        made.suspend_flow.set()
        await asyncio.wait_for(task, 1.0)

    asyncio.run(run())
    assert [r.message.offset for r in inbox.records] == [0, 1]
    assert made._read_offset[ORDERS] == 1


class StandbyTable:
    """A table's store as Faust's recovery writes it: the (partition, offset) of each record."""

    def __init__(self) -> None:
        self.written: list[tuple[TopicPartition, int]] = []

    def apply_changelog_batch(self, records) -> None:
        self.written.extend((r.message.tp, r.message.offset) for r in records)


def with_standby(made: Consumer, tp: TopicPartition, offset: int | None = None) -> StandbyTable:
    """Make `tp` a standby partition of a table, at standby `offset`; the table."""
    recovery = made.app.standby_copies.app.tables.recovery
    table = StandbyTable()
    recovery.standby_tps.add(tp)
    recovery.tp_to_table[tp] = table
    recovery.standby_offsets[tp] = offset
    return table


def test_a_standby_partitions_records_are_written_to_its_table_before_the_conductor_waits():
    # anything the event loop runs while the conductor waits (a rebalance) finds every standby
    # record handed on before in its store
    made = consumer({ORDERS: [0, 1], CHANGELOG: [5, 6, 7]}, {ORDERS, CHANGELOG})
    table = with_standby(made, CHANGELOG)
    seen_at_each_order = []

    async def note_the_store(made, message):
        seen_at_each_order.append(list(table.written))

    assert drain(made, note_the_store) == [(ORDERS, 0), (ORDERS, 1)]
    assert table.written == [(CHANGELOG, 5), (CHANGELOG, 6), (CHANGELOG, 7)]
    assert seen_at_each_order == [[], [(CHANGELOG, 5)]]  # round robin: orders 0, changelog 5, ...
    assert made._read_offset[CHANGELOG] == 7
    assert made.app.standby_copies.app.tables.recovery.standby_offsets[CHANGELOG] == 7


def test_standby_records_at_or_below_the_standby_offset_are_left_out():
    made = consumer({CHANGELOG: [5, 6, 7]}, {CHANGELOG})
    table = with_standby(made, CHANGELOG, offset=6)
    assert drain(made) == []
    assert table.written == [(CHANGELOG, 7)]


def test_a_standby_partitions_lag_is_its_fetched_end_past_the_copys_offset():
    made = consumer({CHANGELOG: [5, 6, 7], ORDERS: [0]}, {CHANGELOG, ORDERS})
    copies = made.app.standby_copies
    copies.app.consumer = made
    with_standby(made, CHANGELOG, offset=6)
    made._thread.kafka.states[CHANGELOG].highwater = 10  # the fetch saw offsets up to 9
    assert copies.lag() == {("sku-state-changelog", 1): 3}
    drain(made)  # writes offset 7
    assert copies.lag() == {("sku-state-changelog", 1): 2}
    del made._thread.kafka.states[CHANGELOG]  # a rebalance took it away
    assert copies.lag() == {}


def test_the_workers_kafka_consumer_has_fetches_held_briefly_and_heartbeats_each_second(tmp_path):
    # Faust's driver asks for fetches held 1.5 s (a fetch of quiet partitions then kept the
    # backlog's waiting) and heartbeats every 3 s (a rebalance waited that long for a member)
    async def built() -> tuple[int, int]:
        app = create_app(Settings("unused:9092", "t.", tmp_path, web_port=6066, web_enabled=False))
        kafka = app.consumer._thread._create_worker_consumer(app.transport)
        await kafka.stop()
        return kafka._fetch_max_wait_ms, kafka._heartbeat_interval_ms

    assert asyncio.run(built()) == (FETCH_MAX_WAIT_MS, 1000) == (50, 1000)
