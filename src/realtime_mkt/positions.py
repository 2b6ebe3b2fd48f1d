"""Exact duplicate detection by where a key's records were read (Kafka offsets).

A record redelivered after a crash or a rebalance comes from the offset it was read at before;
each key keeps, per partition it reads, the last position it applied, so any redelivery is
dropped however many events the key has had since (the event-id window alone let a redelivery
of more than 64 of one SKU's events through: a hot SKU's stock went down twice).

An order's lines and a click's signals can also be sent again as new records: when the worker
reading `orders` (or `clicks`) changes, the new one reads from the committed offset and sends
lines another worker already sent or applied in place. So a line or signal carries its origin
(the partition, offset and part of the order or click it came from) and the consumer group's
generation that produced it, and each key keeps the last origin it applied per origin
partition. Within one generation the lines of an origin partition reach a SKU by one path (in
place, or through one `order-lines` partition) in their origin's order; a later generation
reads again from the committed offset, so its lines at or below the last origin applied are
repeats.

A line of an earlier generation below the last origin applied came by the other path: it
waited in `order-lines` while a later generation applied lines in place. An order line also
carries `since`, the offset its generation began reading the order's partition at: every
order from there on, that generation sent the lines of again. So the earlier generation's line
is a repeat if its order is at or past the `since` of the last origin applied (that generation
applied its own copy, in order, up to the last origin), and new if below it (read only by the
earlier generation; applied). A worker SIGKILLed with a commit interval of orders read but not
committed left that many of its lines waiting in `order-lines`, applied again in place by the
partition's next holder (`benchmarks/handover.py`, *kill*: 113-150 units short at 9 of 12
SKUs in 2 of 9 rounds, before `since`). What stays: a line of an earlier generation still
waiting after two later generations have applied lines (three rebalances within the wait); it is
applied unless it is at or past the newest one's `since`, a possible repeat, never a loss. A
click's signals take one path (`sku-signals`), in their generations' order, and carry no `since`:
a click its user has applied already sends no signal again, so a later generation does not
send every signal from where it began.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import NamedTuple


@functools.cache
def source_of(topic: str, partition: int) -> str:
    """The `source` of the records of logical `topic`'s `partition` (built once per partition)."""
    return f"{topic}/{partition}"


class Position(NamedTuple):
    """Where a record was read: `source` is `<logical topic>/<partition>`; `part` numbers the
    records made of one read record (an order's lines), 0 otherwise."""

    source: str
    offset: int
    part: int = 0


class Origin(NamedTuple):
    """The record an order line or a click signal was made of, the consumer group generation of
    the worker that made it, and (order lines) the offset that generation began reading the
    origin partition at."""

    source: str
    offset: int
    part: int
    generation: int
    since: int | None = None


@dataclass(slots=True)
class ReadPositions:
    """Per key: the last position applied of each partition it reads, and of each origin
    partition of the lines or signals it applies (with their generation)."""

    read: dict[str, list[int]] = field(default_factory=dict)  # source -> [offset, part]
    # source -> [offset, part, generation(, since)]
    origins: dict[str, list[int]] = field(default_factory=dict)

    def seen_before(self, read: Position | None, origin: Origin | None) -> bool:
        """True if the record at `read` was applied already (redelivered), or what it was made
        of was (sent again by a later generation); otherwise remember both and return False."""
        last_read = self.read.get(read.source) if read is not None else None
        if last_read is not None and [read.offset, read.part] <= last_read:
            return True
        last_origin = self.origins.get(origin.source) if origin is not None else None
        newer = last_origin is None or [origin.offset, origin.part] > last_origin[:2]
        if not newer and (
            origin.generation >= last_origin[2]
            or (len(last_origin) > 3 and origin.offset >= last_origin[3])
        ):
            return True
        if read is not None:
            self.read[read.source] = [read.offset, read.part]
        if origin is not None and newer:
            self.origins[origin.source] = [origin.offset, origin.part, origin.generation]
            if origin.since is not None:
                self.origins[origin.source].append(origin.since)
        return False

    def to_list(self) -> list[dict[str, list[int]]]:
        """JSON-ready form."""
        return [self.read, self.origins]

    @classmethod
    def from_list(cls, data: list[dict[str, list[int]]] | None) -> ReadPositions:
        """Inverse of `to_list` (None: a state stored before positions were kept)."""
        return cls(*data) if data else cls()
