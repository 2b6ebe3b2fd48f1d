"""A batch's table writes, held back until the batch's outputs are on the broker."""

from __future__ import annotations

import weakref
from types import SimpleNamespace
from typing import Any

import faust
from faust.streams import _current_event

from realtime_mkt.streaming.inbox import Record

_ABSENT = object()


class PartitionOf:
    """Stands in for an event of `topic`'s `partition` where Faust's tables read the current
    event's (`message.topic`, `message.partition`): for an order's line applied in place."""

    __slots__ = ("__weakref__", "message")

    def __init__(self, topic: str, partition: int) -> None:
        self.message = SimpleNamespace(topic=topic, partition=partition)


Where = Record | PartitionOf


def bind_partition(event: Where) -> None:
    """Point Faust's table reads and writes at `event`'s partition.

    Faust's RocksDB store and changelog take the partition from the current event, which its
    streams set; the agents read inboxes (`streaming/inbox.py`), not streams, so they set it
    (in their own task) before they touch a key's state.
    """
    _current_event.set(weakref.ref(event))


class DeferredWrites:
    """A table as an agent's batch sees it: reads see the batch's own writes, which reach the
    table (its RocksDB store and changelog) only at `write`, once the batch's outputs are on the
    broker.

    Written at once, a key's state outlived a worker killed before the batch's outputs left:
    the restarted worker met the inputs again as duplicates, and their decisions were lost
    (a log of each SKU's last few decisions could send only those again). Held back, a state on
    disk or in the changelog implies its outputs were delivered.

    Faust keeps a store per partition, so a key is one per partition: `at` selects the
    partition of the key the agent is about to apply. Reads are kept for the batch too (only
    the agent writes its table): a lead time's pooled restock correction is read for every
    event of every SKU of that lead time.
    """

    def __init__(self, table: faust.Table) -> None:
        self.table = table
        self.where: Where | None = None
        self.pending: dict[tuple[int, Any], tuple[Where, Any, Any]] = {}
        self.read: dict[tuple[int, Any], Any] = {}

    def at(self, where: Where) -> None:
        """Read and write the partition of `where` (an event, or a `PartitionOf`) from now on."""
        self.where = where
        bind_partition(where)

    def _slot(self, key: Any) -> tuple[int, Any]:
        assert self.where is not None, "call `at` first"
        return self.where.message.partition, key

    def get(self, key: Any, default: Any = None) -> Any:
        """The key's value as of the batch's writes so far, or `default`."""
        slot = self._slot(key)
        if slot in self.pending:
            return self.pending[slot][2]
        if slot not in self.read:
            self.read[slot] = self.table.get(key, _ABSENT)
        found = self.read[slot]
        return default if found is _ABSENT else found

    def __setitem__(self, key: Any, value: Any) -> None:
        assert self.where is not None, "call `at` first"
        self.pending[self._slot(key)] = (self.where, key, value)

    def write(self) -> None:
        """Store the batch's writes in the table (in the order they were first made)."""
        for where, key, value in self.pending.values():
            bind_partition(where)
            self.table[key] = value
        self.pending.clear()
        self.read.clear()
