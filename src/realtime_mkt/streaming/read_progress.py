"""How far every partition of an input topic that reaches the SKUs through a relay topic has been
read, in event time: the watermark the workers share, so a SKU's demand days close only once no
order or click of them is still to come.

Orders reach the SKUs as lines through `order-lines`, clicks as signals through `sku-signals`: each
worker reads some of the `orders` and `clicks` partitions and relays what it read by SKU. On a
backlog each worker reads at its own pace, and the SKUs of one saw the other's lines days of
event time after its own: they had closed those days already, and a third to a half of the lines
counted in a later day (`docs/benchmarks.md`, *Late sales*). As Flink's watermarks travel with the
data, each worker here writes, after what it relayed, how far it has read each partition it holds
into every partition of the relay topic: a keyless record (schema `read-progress.v1`) with the
day of the newest event read, or that the partition is read to its end (a new day at the end of
the batch that read it, other changes when a timer looks). A record covers the records before
it in its partition.

The bound of a relay partition is the earliest day among the input partitions still being read,
as the records in that relay partition tell and, for orders, as this worker reads its own (it
applies the lines of its own SKU partitions at once; every click signal goes through
`sku-signals`, so a clicks partition this worker reads counts as its records come back, or at
once while it has read nothing of it in this generation). A partition read to its end
holds nothing back (live, every partition is: days close on the SKU's own sales and ticks as
before), and one not heard of in the group's current generation holds every day
(`engine.closing_day` still closes days MAX_DAYS_AHEAD behind a sale): a new generation reads
every partition again from its committed offset, and progress from before the restart of a worker
is not its progress now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from realtime_mkt.models.daily_demand import day_of

# A partition fewer than this many records from its end (as last fetched) is read to its
# end: live, a partition is a batch or so behind its end at any moment.
CAUGHT_UP_RECORDS = 100
# Unchanged progress is written again this often: a safety net, since a rebalance (a worker
# started or gone) moves every worker to a new generation, whose progress they then write.
RESEND_SECONDS = 30.0
EARLIEST = -(2**31)  # the bound while a partition is not heard of in this generation
EPOCH = date(1970, 1, 1)  # day 0 of `day_of`


def earliest(bounds: Iterable[int | None]) -> int | None:
    """The earliest of `bounds` that hold a day back (None: none does)."""
    held = [bound for bound in bounds if bound is not None]
    return min(held) if held else None


@dataclass(frozen=True, slots=True)
class Progress:
    """How far one input partition has been read in a group generation: the day of its newest
    event read (None: none yet), or read to its end."""

    generation: int
    day: int | None
    caught_up: bool

    def holds(self) -> int | None:
        """The earliest day whose events this partition may still deliver (None: none)."""
        if self.caught_up:
            return None
        return EARLIEST if self.day is None else self.day


class ReadProgress:
    """This worker's view of how far each partition of an input topic has been read: its
    `partitions`, relayed to the SKUs through a topic; `applied_at_once` if what this worker
    reads of its own SKU partitions is applied as it is read, not relayed (else its own
    progress counts only while it has read nothing in the generation: nothing it relayed is on
    its way)."""

    def __init__(self, partitions: int, applied_at_once: bool) -> None:
        self.partitions = partitions
        self.applied_at_once = applied_at_once
        self.own: dict[int, Progress] = {}  # the partitions this worker reads now
        # partition -> the generation that read it, the newest event time it read and the
        # offset after the last event it read
        self.newest: dict[int, tuple[int, float, int]] = {}
        self.heard: dict[int, dict[int, Progress]] = {}  # relay partition -> input partition ->
        self.sent: dict[int, Progress] = {}
        self.sent_at = float("-inf")

    def read(self, partition: int, generation: int, offset: int, ts: float) -> bool:
        """The event at `offset` of `partition`, of event time `ts`, was read in group
        generation `generation` (a new generation reads again from the committed offset).
        Returns whether this worker's progress on the partition moved to a later day: the
        bounds change, as they must for the next event read (a batch reads its partitions
        interleaved)."""
        last = self.newest.get(partition)
        if last is None or last[0] != generation:
            self.newest[partition] = (generation, ts, offset + 1)
        else:
            self.newest[partition] = (generation, max(ts, last[1]), max(offset + 1, last[2]))
        own = self.own.get(partition)
        day = day_of(self.newest[partition][1])
        if own is None or own.generation != generation or own.day == day:
            return False
        self.own[partition] = Progress(generation, day, own.caught_up)
        return True

    def update(self, generation: int, ends: Mapping[int, tuple[int, int | None]]) -> None:
        """Set this worker's own progress from the partitions it reads in `generation`, each
        with the offset the generation began reading it at and its end as last fetched (None:
        not fetched yet): before the timer sends progress and before each batch of the SKU
        agent. Behind is counted from the last event read, or from where the generation began:
        records fetched but not read yet are still to come."""
        self.own = {}
        for partition, (start, end) in ends.items():
            newest = self.newest.get(partition)
            if newest is not None and newest[0] == generation:
                day, start = day_of(newest[1]), newest[2]
            else:
                day = None
            caught_up = end is not None and end - start < CAUGHT_UP_RECORDS
            self.own[partition] = Progress(generation, day, caught_up)
        self.newest = {p: read for p, read in self.newest.items() if p in ends}

    def hear(self, relay_partition: int, value: Mapping[str, Any]) -> None:
        """Take in a progress record (validated) read from `relay_partition` of the relay topic;
        one of an older generation than the partition's last is out of date."""
        read_to = value["read_to"]
        progress = Progress(
            value["generation"],
            None if read_to is None else (date.fromisoformat(read_to) - EPOCH).days,
            value["caught_up"],
        )
        heard = self.heard.setdefault(relay_partition, {})
        last = heard.get(value["partition"])
        if last is None or progress.generation >= last.generation:
            heard[value["partition"]] = progress

    def bound(self, relay_partition: int, generation: int) -> int | None:
        """The earliest day whose events may still reach the SKUs of `relay_partition` (their
        days before it are complete) in group generation `generation`; None if every input
        partition is read to its end. Progress of an earlier generation is not taken: a new
        generation reads every partition again from its committed offset."""
        heard = self.heard.get(relay_partition, {})

        def holds(partition: int) -> int | None:
            progress = self.own.get(partition)
            if progress is None or not (self.applied_at_once or progress.day is None):
                progress = heard.get(partition)  # what it relayed may still be on its way
            if progress is None or progress.generation != generation:
                return EARLIEST
            return progress.holds()

        return earliest(holds(partition) for partition in range(self.partitions))

    def to_send(self, now: float) -> list[dict[str, Any]]:
        """The progress records to write to every partition of the relay topic now: this
        worker's partitions whose progress changed, or all of them every RESEND_SECONDS."""
        resend = now - self.sent_at >= RESEND_SECONDS
        changed = {
            partition: progress
            for partition, progress in self.own.items()
            if resend or self.sent.get(partition) != progress
        }
        if resend:
            self.sent_at = now
        self.sent.update(changed)
        return [
            {
                "partition": partition,
                "generation": progress.generation,
                "read_to": (None if progress.day is None else str(EPOCH + timedelta(progress.day))),
                "caught_up": progress.caught_up,
            }
            for partition, progress in sorted(changed.items())
        ]
