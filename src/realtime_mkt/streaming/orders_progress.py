"""How far every `orders` partition has been read, in event time: the watermark the workers share,
so a SKU's demand days close only once no order of them is still to come.

Each worker reads some of the orders partitions, applies the lines whose SKU partition it holds
and sends the others through `order-lines`. On a backlog each worker reads at its own pace, and
the SKUs of one saw the other's lines days of event time after its own: they had closed those
days already, and a third to a half of the lines counted in a later day (`docs/benchmarks.md`,
*Late sales*). As Flink's watermarks travel with the data, each worker here writes, after the
lines it sent, how far it has read each orders partition it holds into every `order-lines`
partition: a keyless record (schema `orders-progress.v1`) with the day of the newest order read,
or that the partition is read to its end. A record covers the lines before it in its partition.

The bound of an `order-lines` partition is the earliest day among the orders partitions still
being read, as this worker reads its own and as the others' records in that partition tell; a
partition read to its end holds nothing back (live, every partition is: days close on the SKU's
own sales and ticks as before), and one not heard of in the group's current generation holds
every day (`engine.closing_day` still closes days MAX_DAYS_AHEAD behind a sale): a new generation
reads every partition again from its committed offset, and progress from before the restart of a
worker is not its progress now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from realtime_mkt.models.daily_demand import day_of

# An orders partition fewer than this many records from its end (as last fetched) is read to its
# end: live, a partition is a batch or so behind its end at any moment.
CAUGHT_UP_RECORDS = 100
# Unchanged progress is written again this often: a safety net, since a rebalance (a worker
# started or gone) moves every worker to a new generation, whose progress they then write.
RESEND_SECONDS = 30.0
EARLIEST = -(2**31)  # the bound while an orders partition is not heard of in this generation
EPOCH = date(1970, 1, 1)  # day 0 of `day_of`


@dataclass(frozen=True, slots=True)
class Progress:
    """How far one orders partition has been read in a group generation: the day of its newest
    order read (None: none yet), or read to its end."""

    generation: int
    day: int | None
    caught_up: bool

    def holds(self) -> int | None:
        """The earliest day whose orders this partition may still deliver (None: none)."""
        if self.caught_up:
            return None
        return EARLIEST if self.day is None else self.day


class OrdersProgress:
    """This worker's view of how far each orders partition has been read."""

    def __init__(self, orders_partitions: int) -> None:
        self.orders_partitions = orders_partitions
        self.own: dict[int, Progress] = {}  # the orders partitions this worker reads now
        # orders partition -> the generation that read it, the newest order time it read and
        # the offset after the last order it read
        self.newest: dict[int, tuple[int, float, int]] = {}
        self.heard: dict[int, dict[int, Progress]] = {}  # lines partition -> orders partition ->
        self.sent: dict[int, Progress] = {}
        self.sent_at = float("-inf")

    def read(self, partition: int, generation: int, offset: int, ts: float) -> bool:
        """The order at `offset` of `partition`, of event time `ts`, was read in group
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
        """Set this worker's own progress from the orders partitions it reads in `generation`,
        each with the offset the generation began reading it at and its end as last fetched
        (None: not fetched yet): before each batch and before progress is sent. Behind is
        counted from the last order read, or from where the generation began: records fetched
        but not read yet are still to come."""
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

    def hear(self, lines_partition: int, value: Mapping[str, Any]) -> None:
        """Take in a progress record (validated) read from `lines_partition` of `order-lines`;
        one of an older generation than the partition's last is out of date."""
        read_to = value["read_to"]
        progress = Progress(
            value["generation"],
            None if read_to is None else (date.fromisoformat(read_to) - EPOCH).days,
            value["caught_up"],
        )
        heard = self.heard.setdefault(lines_partition, {})
        last = heard.get(value["orders_partition"])
        if last is None or progress.generation >= last.generation:
            heard[value["orders_partition"]] = progress

    def bound(self, lines_partition: int, generation: int) -> int | None:
        """The earliest day whose orders may still reach the SKUs of `lines_partition` (their
        days before it are complete) in group generation `generation`; None if every orders
        partition is read to its end. Progress of an earlier generation is not taken: a new
        generation reads every partition again from its committed offset."""
        heard = self.heard.get(lines_partition, {})
        holds = []
        for partition in range(self.orders_partitions):
            progress = self.own.get(partition) or heard.get(partition)
            if progress is None or progress.generation != generation:
                holds.append(EARLIEST)
            elif (held := progress.holds()) is not None:
                holds.append(held)
        return min(holds) if holds else None

    def to_send(self, now: float) -> list[dict[str, Any]]:
        """The progress records to write to every `order-lines` partition now: this worker's
        partitions whose progress changed, or all of them every RESEND_SECONDS."""
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
                "orders_partition": partition,
                "generation": progress.generation,
                "read_to": (None if progress.day is None else str(EPOCH + timedelta(progress.day))),
                "caught_up": progress.caught_up,
            }
            for partition, progress in sorted(changed.items())
        ]
