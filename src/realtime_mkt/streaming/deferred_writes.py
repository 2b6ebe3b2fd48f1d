"""A batch's table writes, held back until the batch's outputs are on the broker."""

from __future__ import annotations

from typing import Any

from realtime_mkt.streaming.outbox import ChangelogTable

_ABSENT = object()


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

    def __init__(self, table: ChangelogTable) -> None:
        self.table = table
        self.partition: int | None = None
        self.pending: dict[tuple[int, Any], Any] = {}
        self.read: dict[tuple[int, Any], Any] = {}

    def at(self, partition: int) -> None:
        """Read and write the table's `partition` from now on."""
        self.partition = partition

    def _slot(self, key: Any) -> tuple[int, Any]:
        assert self.partition is not None, "call `at` first"
        return self.partition, key

    def get(self, key: Any, default: Any = None) -> Any:
        """The key's value as of the batch's writes so far, or `default`."""
        slot = self._slot(key)
        if slot in self.pending:
            return self.pending[slot]
        if slot not in self.read:
            self.read[slot] = self.table.get_in(*slot, _ABSENT)
        found = self.read[slot]
        return default if found is _ABSENT else found

    def __setitem__(self, key: Any, value: Any) -> None:
        self.pending[self._slot(key)] = value

    def write(self) -> None:
        """Store the batch's writes in the table (in the order they were first made)."""
        for (partition, key), value in self.pending.items():
            self.table.set_in(partition, key, value)
        self.pending.clear()
        self.read.clear()
