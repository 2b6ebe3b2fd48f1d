"""Standby copies of other workers' tables, written straight from the consumer.

Faust hands each changelog record of a standby partition through its conductor (flow control,
the producer buffer's ebb, an `Event` decoded, a queue put with pressure callbacks) to its
recovery loop (a queue get under `asyncio.wait_for`, per-record debug strings, a sum over every
standby partition's lag): about 50 µs of CPU a record, as much as the worker spends on an input
event. Two workers with standbys processed fewer events per second than one alone
(`docs/benchmarks.md`, *Stop 26* under Throughput).

Here the consumer (`streaming/consumer.py`) gives those records to `StandbyCopies`, which keeps
Faust's bookkeeping (each partition's standby offset, records at or below it left out) and
writes them to their tables' stores as Faust's recovery does (`apply_changelog_batch`: one
write batch a partition, then its persisted offset). The consumer calls `write` before it gives
the event loop a turn, so no record waits in memory across a rebalance: a partition that
changes hands meanwhile finds every record handed on already in its store, with the offset
after which its new owner reads on.
"""

from __future__ import annotations

from faust.types import TP, AppT, CollectionT, Message

from realtime_mkt.streaming.inbox import Record


class StandbyCopies:
    """Changelog records of this worker's standby partitions, waiting for `write`."""

    def __init__(self, app: AppT) -> None:
        self.app = app
        self.pending: dict[CollectionT, list[Record]] = {}

    def takes(self, tp: TP) -> bool:
        """Whether `tp` is a changelog partition this worker keeps a standby copy of."""
        return tp in self.app.tables.recovery.standby_tps

    def add(self, message: Message) -> None:
        """Hold a standby partition's changelog record for `write` (one at or below the
        partition's standby offset is left out, as Faust's recovery does)."""
        recovery = self.app.tables.recovery
        tp, offset = message.tp, message.offset
        seen = recovery.standby_offsets.get(tp)
        if seen is not None and offset <= seen:
            return
        recovery.standby_offsets[tp] = offset
        table = recovery.tp_to_table[tp]
        records = self.pending.get(table)
        if records is None:
            records = self.pending[table] = []
        records.append(Record(message))

    def lag(self) -> dict[tuple[str, int], int]:
        """(changelog topic, partition) -> records of each standby partition not yet in its copy,
        against the partition's end as the consumer last fetched it (left out until it has, or
        while a rebalance has it unassigned)."""
        recovery = self.app.tables.recovery
        lags = {}
        for tp in recovery.standby_tps:
            end = self.app.consumer.fetched_end(tp)  # type: ignore[attr-defined]
            if end is not None:
                offset = recovery.standby_offsets.get(tp)
                copied = 0 if offset is None else offset + 1
                lags[tp.topic, tp.partition] = max(end - copied, 0)
        return lags

    def write(self) -> None:
        """Write the records held to their tables' stores, with each partition's offset."""
        if self.pending:
            for table, records in self.pending.items():
                table.apply_changelog_batch(records)
            self.pending.clear()
