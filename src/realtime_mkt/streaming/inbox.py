"""Records handed by the consumer straight to an agent, taken in batches that fill while the
agent works.

Faust hands each record through its conductor (flow control, the producer buffer's ebb, a
reference count, an `Event` decoded per channel, a queue put with pressure callbacks), then its
stream (a queue get, sensors, processors, the current-event context, an `ack` per event):
about a fifth of the worker's CPU before any of our code ran (`docs/benchmarks.md`, *Stop 23*).
Here our consumer (`streaming/consumer.py`) appends each record of an input topic to its
agent's `Inbox`, and the agent acknowledges each batch's records to the consumer once it has
handled them: offsets, gaps and commits stay Faust's. The app's flow control clears an inbox
as it clears Faust's queues (a rebalance: the records not yet taken are fetched again from the
committed offsets).

Batches: up to `max_` records, handed out as soon as the inbox is full, or once `within` has
passed since the previous batch went out and a turn of the event loop adds nothing more
(records the consumer has already fetched join the batch). So at most one batch per `within`
(batches of a few records cost more per record), and a busy agent finds the records that came
meanwhile waiting for it; Faust's `Stream.take_events` stopped filling its buffer while the
agent worked, then waited its window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from faust.types import Message


class Record:
    """A consumed record as an agent sees it: Faust's message, with its key and value (raw
    bytes)."""

    __slots__ = ("key", "message", "value")

    def __init__(self, message: Message) -> None:
        self.message = message
        self.key = message.key
        self.value = message.value


class Inbox:
    """The records of an agent's topics not yet handed to it in a batch."""

    def __init__(self, max_: int, within: float) -> None:
        self.max_ = max_
        self.within = within
        self.records: list[Record] = []
        self.arrived, self.full, self.room = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self.room.set()

    def is_full(self) -> bool:
        """True while a batch is full and waits for the agent: `add` must wait for room."""
        return not self.room.is_set()

    async def wait_for_room(self) -> None:
        """Until the agent has taken the full batch."""
        await self.room.wait()

    def add(self, message: Message) -> None:
        """Append a record (call `wait_for_room` first while the inbox `is_full`)."""
        records = self.records
        records.append(Record(message))
        self.arrived.set()
        if len(records) >= self.max_:
            self.full.set()
            self.room.clear()

    def clear(self) -> None:
        """Drop the records not yet handed out (Faust's flow control, at a rebalance)."""
        self._take()

    def _take(self) -> list[Record]:
        batch, self.records = self.records, []
        self.full.clear()
        self.room.set()
        return batch

    async def batches(self, ack: Callable[[Message], Any]) -> AsyncIterator[list[Record]]:
        """Batches of up to `max_` records, at most one every `within` seconds; each batch's
        records are acknowledged (`ack`, the consumer's) when the agent asks for the next."""
        loop = asyncio.get_running_loop()
        handed_out = -self.within
        while True:
            if not self.records:
                self.arrived.clear()
                await self.arrived.wait()
                continue
            if not self.full.is_set():
                wait = handed_out + self.within - loop.time()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self.full.wait()
                    continue
                before = len(self.records)  # what the consumer already holds joins the batch
                await asyncio.sleep(0)
                if len(self.records) != before:
                    continue
            batch = self._take()
            handed_out = loop.time()
            try:
                yield batch
            finally:
                for record in batch:
                    ack(record.message)
