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
repeats. A line of an earlier generation below it is not: it waited in `order-lines` while a
later generation applied newer lines in place, and is applied (the risk taken is a repeat of
a line sent by a worker that crashed mid-batch, never a loss).
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
    """The record an order line or a click signal was made of, and the consumer group
    generation of the worker that made it."""

    source: str
    offset: int
    part: int
    generation: int


@dataclass(slots=True)
class ReadPositions:
    """Per key: the last position applied of each partition it reads, and of each origin
    partition of the lines or signals it applies (with their generation)."""

    read: dict[str, list[int]] = field(default_factory=dict)  # source -> [offset, part]
    origins: dict[str, list[int]] = field(default_factory=dict)  # -> [offset, part, generation]

    def seen_before(self, read: Position | None, origin: Origin | None) -> bool:
        """True if the record at `read` was applied already (redelivered), or what it was made
        of was (sent again by a later generation); otherwise remember both and return False."""
        last_read = self.read.get(read.source) if read is not None else None
        if last_read is not None and [read.offset, read.part] <= last_read:
            return True
        last_origin = self.origins.get(origin.source) if origin is not None else None
        newer = last_origin is None or [origin.offset, origin.part] > last_origin[:2]
        if not newer and origin.generation >= last_origin[2]:
            return True
        if read is not None:
            self.read[read.source] = [read.offset, read.part]
        if origin is not None and newer:
            self.origins[origin.source] = [origin.offset, origin.part, origin.generation]
        return False

    def to_list(self) -> list[dict[str, list[int]]]:
        """JSON-ready form."""
        return [self.read, self.origins]

    @classmethod
    def from_list(cls, data: list[dict[str, list[int]]] | None) -> ReadPositions:
        """Inverse of `to_list` (None: a state stored before positions were kept)."""
        return cls(*data) if data else cls()
