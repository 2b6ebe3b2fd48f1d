"""A batch's table writes held back until its outputs are delivered (`DeferredWrites`), while
the agent goes on with its next batches (`StoreBehind`)."""

from __future__ import annotations

import asyncio
from collections import deque
from types import SimpleNamespace

import pytest

from realtime_mkt.streaming import deferred_writes
from realtime_mkt.streaming.deferred_writes import DeferredWrites, StoreBehind


class PartitionedTable:
    """Stands in for a `ChangelogTable`: one dict per partition; counts reads."""

    def __init__(self) -> None:
        self.partitions: dict[int, dict] = {}
        self.reads = 0

    def get_in(self, partition, key, default=None):
        self.reads += 1
        return self.partitions.get(partition, {}).get(key, default)

    def set_in(self, partition, key, value) -> None:
        self.partitions.setdefault(partition, {})[key] = value


def test_writes_reach_the_table_only_when_written_each_on_its_partition():
    table = PartitionedTable()
    writes = DeferredWrites(table)
    writes.at(0)
    writes["sku-a"] = {"n": 1}
    writes[("pool", "2")] = 0.5
    writes.at(1)
    writes[("pool", "2")] = -0.5  # the same key on another partition is another entry
    assert table.partitions == {}  # nothing written, nothing read yet
    assert writes.get(("pool", "2")) == -0.5 and writes.get("sku-a") is None
    writes.at(0)
    assert writes.get(("pool", "2")) == 0.5 and writes.get("sku-a") == {"n": 1}
    writes.store(writes.seal())
    assert table.partitions[0] == {"sku-a": {"n": 1}, ("pool", "2"): 0.5}
    assert table.partitions[1] == {("pool", "2"): -0.5}


def test_a_batch_reads_a_key_from_the_table_once_and_sees_it_afresh_after_writing():
    table = PartitionedTable()
    table.partitions[0] = {("pool", "2"): 0.25}
    writes = DeferredWrites(table)
    writes.at(0)
    assert [writes.get(("pool", "2")) for _ in range(3)] == [0.25] * 3
    assert [writes.get("absent", "default") for _ in range(2)] == ["default"] * 2
    assert table.reads == 2
    writes.store(writes.seal())
    table.partitions[0][("pool", "2")] = 0.75  # e.g. restored while no batch ran
    assert writes.get(("pool", "2")) == 0.75 and table.reads == 3


def test_sealed_writes_are_seen_by_later_batches_until_stored_in_order():
    table = PartitionedTable()
    writes = DeferredWrites(table)
    writes.at(0)
    writes["u1"] = 1
    first = writes.seal()
    writes["u1"] = writes.get("u1") + 1  # the next batch builds on the first's state
    writes["u2"] = 10
    second = writes.seal()
    assert writes.get("u1") == 2 and table.partitions == {} and table.reads == 0
    with pytest.raises(AssertionError):
        writes.store(second)  # not before the first
    writes.store(first)
    assert table.partitions[0] == {"u1": 1} and writes.get("u1") == 2
    writes.store(second)
    assert table.partitions[0] == {"u1": 2, "u2": 10}


def test_a_rebalance_drops_what_is_not_stored_and_starts_a_generation():
    table = PartitionedTable()
    table.partitions[0] = {"u1": 1}
    writes = DeferredWrites(table)
    writes.at(0)
    writes["u1"] = 5
    writes.seal()
    writes["u1"] = 6
    writes.clear()
    assert writes.generation == 1 and writes.sealed == deque() and writes.get("u1") == 1


class RecordingOutbox:
    """Stands in for the `Outbox`: each flush's deliveries, completed by the test."""

    def __init__(self) -> None:
        self.flushes: list[list[asyncio.Future]] = []

    async def flush(self) -> list[asyncio.Future]:
        await asyncio.sleep(0)
        self.flushes.append([asyncio.get_running_loop().create_future()])
        return self.flushes[-1]


def records(*offsets: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(message=offset) for offset in offsets]


def test_a_batch_is_stored_and_acknowledged_once_delivered_after_those_before_it():
    table, box, acked = PartitionedTable(), RecordingOutbox(), []
    writes = DeferredWrites(table)
    stores = StoreBehind(writes, box, acked.append)

    async def run() -> None:
        writes.at(0)
        writes["u1"] = 1
        await stores.submit(records(0, 1), 0)  # the agent goes on at once
        writes["u1"] = 2
        await stores.submit(records(2), 0)
        first, second = box.flushes[0][0], box.flushes[1][0]
        second.set_result("delivered")
        await asyncio.sleep(0.01)
        assert acked == [] and table.partitions == {}  # waits for the first batch
        first.set_result("delivered")
        await asyncio.wait_for(stores.drain(), 1)

    asyncio.run(run())
    assert acked == [0, 1, 2] and table.partitions[0] == {"u1": 2}
    assert len(box.flushes) == 4  # each batch's outputs, then its changelog records


def test_a_batch_of_an_older_generation_is_neither_stored_nor_acknowledged():
    table, box, acked = PartitionedTable(), RecordingOutbox(), []
    writes = DeferredWrites(table)
    stores = StoreBehind(writes, box, acked.append)

    async def run() -> None:
        writes.at(0)
        writes["u1"] = 1
        await stores.submit(records(0), 0)  # outputs in flight when the rebalance comes
        writes.clear()
        writes["u1"] = 7  # a batch begun before the rebalance, handled across it
        await stores.submit(records(1), 0)
        box.flushes[0][0].set_result("delivered")
        await asyncio.wait_for(stores.drain(), 1)
        assert writes.pending == {} and writes.sealed == deque()
        writes["u1"] = 3  # the first batch of the new generation
        await stores.submit(records(5), 1)
        box.flushes[-1][0].set_result("delivered")
        await asyncio.wait_for(stores.drain(), 1)

    asyncio.run(run())
    assert acked == [5] and table.partitions[0] == {"u1": 3}


def test_the_agent_waits_while_too_many_batches_are_in_flight(monkeypatch):
    monkeypatch.setattr(deferred_writes, "MAX_IN_FLIGHT", 1)
    box = RecordingOutbox()
    writes = DeferredWrites(PartitionedTable())
    stores = StoreBehind(writes, box, lambda message: None)

    async def run() -> None:
        await stores.submit(records(0), 0)
        second = asyncio.create_task(stores.submit(records(1), 0))
        await asyncio.sleep(0.01)
        assert not second.done()  # the first batch's outputs are not delivered yet
        box.flushes[0][0].set_result("delivered")
        await asyncio.wait_for(second, 1)
        box.flushes[1][0].set_result("delivered")  # the second batch's outputs
        await asyncio.wait_for(stores.drain(), 1)

    asyncio.run(run())


def test_a_failure_to_store_is_raised_to_the_agent():
    class BrokenTable(PartitionedTable):
        def set_in(self, partition, key, value) -> None:
            raise OSError("disk full")

    box = RecordingOutbox()
    writes = DeferredWrites(BrokenTable())
    stores = StoreBehind(writes, box, lambda message: None)

    async def run() -> None:
        writes.at(0)
        writes["u1"] = 1
        await stores.submit(records(0), 0)
        box.flushes[0][0].set_result("delivered")
        await asyncio.wait_for(stores.drain(), 1)
        with pytest.raises(OSError, match="disk full"):
            await stores.submit(records(1), 0)

    asyncio.run(run())
