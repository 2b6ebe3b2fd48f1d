"""A batch's table writes, held back until the batch's outputs are on the broker, while the
agent goes on with its next batches (`StoreBehind`)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from faust.types import Message

from realtime_mkt.streaming.inbox import Record
from realtime_mkt.streaming.outbox import ChangelogTable, Outbox

_ABSENT = object()
Writes = dict[tuple[int, Any], Any]  # (partition, key) -> value
MAX_IN_FLIGHT = 2  # batches handled whose outputs are not yet delivered


class DeferredWrites:
    """A table as an agent's batches see it: reads see the writes of the batch being handled
    and of the batches sealed before it, which reach the table (its RocksDB store and
    changelog) only at `store`, once those batches' outputs are on the broker.

    Written at once, a key's state outlived a worker killed before the batch's outputs left:
    the restarted worker met the inputs again as duplicates, and their decisions were lost
    (a log of each SKU's last few decisions could send only those again). Held back, a state on
    disk or in the changelog implies its outputs were delivered.

    Faust keeps a store per partition, so a key is one per partition: `at` selects the
    partition of the key the agent is about to apply. Reads are kept for the batch too (only
    the agent writes its table): a lead time's pooled restock correction is read for every
    event of every SKU of that lead time.

    A rebalance `clear`s what is not stored, and starts a new `generation`: the records of
    those batches were not acknowledged, and are fetched again from the committed offsets.
    """

    def __init__(self, table: ChangelogTable) -> None:
        self.table = table
        self.partition: int | None = None
        self.pending: Writes = {}
        self.sealed: deque[Writes] = deque()  # oldest first
        self.read: dict[tuple[int, Any], Any] = {}
        self.generation = 0

    def at(self, partition: int) -> None:
        """Read and write the table's `partition` from now on."""
        self.partition = partition

    def _slot(self, key: Any) -> tuple[int, Any]:
        assert self.partition is not None, "call `at` first"
        return self.partition, key

    def get(self, key: Any, default: Any = None) -> Any:
        """The key's value as of the writes so far, stored or not, or `default`."""
        slot = self._slot(key)
        if slot in self.pending:
            return self.pending[slot]
        for writes in reversed(self.sealed):
            if slot in writes:
                return writes[slot]
        if slot not in self.read:
            self.read[slot] = self.table.get_in(*slot, _ABSENT)
        found = self.read[slot]
        return default if found is _ABSENT else found

    def __setitem__(self, key: Any, value: Any) -> None:
        self.pending[self._slot(key)] = value

    def seal(self) -> Writes:
        """Set the batch's writes aside until `store`; the next batch starts with none."""
        sealed, self.pending = self.pending, {}
        self.sealed.append(sealed)
        self.read.clear()
        return sealed

    def discard(self) -> None:
        """Drop the batch's writes (it was handled across a rebalance)."""
        self.pending = {}
        self.read.clear()

    def store(self, sealed: Writes) -> None:
        """Write the oldest sealed batch's writes to the table, in the order they were first
        made."""
        assert self.sealed and self.sealed[0] is sealed, "store sealed batches in order"
        for (partition, key), value in sealed.items():
            self.table.set_in(partition, key, value)
        self.sealed.popleft()

    def clear(self) -> None:
        """Drop every write not stored, and start a new generation (a rebalance)."""
        self.pending = {}
        self.sealed.clear()
        self.read.clear()
        self.generation += 1


class StoreBehind:
    """Each batch an agent has handled: its outputs appended to the producer at once, and its
    states stored and its records acknowledged once the broker has those outputs, after the
    batches before it, while the agent goes on.

    Waiting for the outputs before taking the next batch left the worker idle a quarter of the
    time under a backlog (the broker acknowledges a produce request in tens of milliseconds on
    a busy machine). At most MAX_IN_FLIGHT batches wait at once. A batch of an older generation
    than its table's (a rebalance came meanwhile) is neither stored nor acknowledged.
    """

    def __init__(
        self, writes: DeferredWrites, outbox: Outbox, ack: Callable[[Message], Any]
    ) -> None:
        self.writes, self.outbox, self.ack = writes, outbox, ack
        self.in_flight: deque[asyncio.Task] = deque()
        self.failure: BaseException | None = None

    async def submit(self, records: Sequence[Record], generation: int) -> None:
        """Hand on a handled batch of `records`, begun in `generation`; raise what storing an
        earlier batch raised (a bug, as if the agent had raised it)."""
        if self.failure is not None:
            raise self.failure
        deliveries = await self.outbox.flush()
        if generation != self.writes.generation:
            self.writes.discard()
            return
        sealed = self.writes.seal()
        previous = self.in_flight[-1] if self.in_flight else None
        task = asyncio.create_task(self._store(sealed, records, deliveries, previous, generation))
        self.in_flight.append(task)
        task.add_done_callback(self._done)
        while len(self.in_flight) > MAX_IN_FLIGHT:
            await asyncio.wait([self.in_flight[0]])

    async def drain(self) -> None:
        """Until every submitted batch is stored (or dropped)."""
        if self.in_flight:
            await asyncio.wait(list(self.in_flight))

    async def _store(
        self,
        sealed: Writes,
        records: Sequence[Record],
        deliveries: list[asyncio.Future],
        previous: asyncio.Task | None,
        generation: int,
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if deliveries:  # delivered, or given up on by the producer (logged and counted)
            await asyncio.wait(deliveries)
        if generation != self.writes.generation:
            return
        self.writes.store(sealed)
        await self.outbox.flush()  # the changelog records, before the records are acknowledged
        if generation != self.writes.generation:
            return
        for record in records:
            self.ack(record.message)

    def _done(self, task: asyncio.Task) -> None:
        self.in_flight.remove(task)
        if not task.cancelled() and task.exception() is not None:
            self.failure = self.failure or task.exception()
