"""A stream's events in batches whose window runs while the agent handles the previous batch.

Faust's `Stream.take_events(max_, within)` stops filling its buffer while the agent handles a
batch, then waits up to `within` for the next one to fill: every batch cycle is the window
plus the agent's own time (its processing and the wait for its outputs' delivery), and an
event that arrives while the agent is busy waits for both. Here the buffer keeps filling
meanwhile, and a batch is handed out as soon as it is full, or once `within` has passed since
the previous one was handed out and a turn of the event loop adds nothing more to it (records
the consumer has already handed on join it). At most one batch per `within` still goes out,
as with Faust's window (batches of a few events cost more per event: `docs/benchmarks.md`),
and a busy agent finds the events that came meanwhile waiting for it.

Events are acknowledged once the agent has handled their batch, as with `take_events`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust


async def take_batches(
    stream: faust.StreamT, max_: int, within: float
) -> AsyncIterator[list[faust.EventT]]:
    """Up to `max_` events at a time, a batch at most every `within` seconds, each batch's
    events acknowledged once the agent asks for the next."""
    loop = asyncio.get_running_loop()
    events: list[faust.EventT] = []
    arrived, full, room = asyncio.Event(), asyncio.Event(), asyncio.Event()
    room.set()

    async def add_to_buffer(value: Any) -> Any:
        if len(events) >= max_:  # no more than `max_` to a batch: the stream waits for the next
            await stream.wait(room)
        event = stream.current_event
        if event is None:
            raise RuntimeError("no current event for a value taken from the stream")
        events.append(event)
        arrived.set()
        if len(events) >= max_:
            full.set()
            room.clear()
        return value

    restore_acks = stream.enable_acks
    stream.enable_acks = False  # acknowledged here, once handled
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # the stream is read in the background
    handed_out = -within
    try:
        while not stream.should_stop:
            wait = handed_out + within - loop.time()
            if not events:
                arrived.clear()
                await stream.wait_for_stopped(arrived, timeout=within)
                continue
            if wait > 0 and not full.is_set():
                await stream.wait_for_stopped(full, timeout=wait)
                continue
            if not full.is_set():  # what the stream already holds joins the batch
                before = len(events)
                await asyncio.sleep(0)
                if len(events) > before:
                    continue
            batch, events = events, []
            full.clear()
            room.set()
            handed_out = loop.time()
            try:
                yield batch
            finally:
                for event in batch:
                    await stream.ack(event)
    finally:
        stream.enable_acks = restore_acks
        stream._processors.remove(add_to_buffer)
