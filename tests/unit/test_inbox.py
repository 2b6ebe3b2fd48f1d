"""`Inbox`: records handed over by the consumer, batched while the agent works."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from itertools import pairwise

from faust.types import Message

from realtime_mkt.streaming.inbox import Inbox

Batch = tuple[list[int], float, list[int]]  # offsets, when handed out, offsets acknowledged by then


def message(offset: int) -> Message:
    return Message("orders", 0, offset, 0.0, 0, None, b"k", b"v%d" % offset, None)


async def deliver(inbox: Inbox, offsets: range) -> None:
    """As the consumer delivers: wait for room while the inbox is full, then add."""
    for offset in offsets:
        if inbox.is_full():
            await inbox.wait_for_room()
        inbox.add(message(offset))


async def run(
    max_: int,
    within: float,
    handle_seconds: float,
    send: Callable[[Inbox], Awaitable[None]],
    settle: float,
) -> list[Batch]:
    """The batches an agent taking `handle_seconds` over each one is handed while `send` runs."""
    inbox = Inbox(max_, within)
    acked: list[int] = []
    batches: list[Batch] = []

    async def agent() -> None:
        async for batch in inbox.batches(lambda m: acked.append(m.offset)):
            offsets = [r.message.offset for r in batch]
            assert [r.value for r in batch] == [b"v%d" % o for o in offsets]
            batches.append((offsets, time.monotonic(), list(acked)))
            await asyncio.sleep(handle_seconds)

    task = asyncio.create_task(agent())
    await send(inbox)
    await asyncio.sleep(settle)
    task.cancel()
    return batches


async def burst(inbox: Inbox) -> None:
    await deliver(inbox, range(7))


def test_records_that_arrive_while_the_agent_works_wait_for_it_not_for_another_window() -> None:
    batches = asyncio.run(run(3, 0.2, 0.3, burst, settle=1.5))

    assert [o for offsets, _, _ in batches for o in offsets] == list(range(7))
    assert all(len(offsets) <= 3 for offsets, _, _ in batches)
    for (_, before, _), (_, after, _) in pairwise(batches):
        # handed out as the agent asks (0.3 s), not a window (0.2 s) after that
        assert 0.29 <= after - before < 0.45
    for n, (_, _, acked) in enumerate(batches):
        # a batch's records are acknowledged once the agent has handled it, not before
        assert acked == [o for offsets, _, _ in batches[:n] for o in offsets]


def test_at_most_one_batch_per_window() -> None:
    async def trickle(inbox: Inbox) -> None:
        for offset in range(20):
            await deliver(inbox, range(offset, offset + 1))
            await asyncio.sleep(0.05)

    batches = asyncio.run(run(1000, 0.3, 0.0, trickle, settle=0.8))

    assert [o for offsets, _, _ in batches for o in offsets] == list(range(20))
    for (_, before, _), (_, after, _) in pairwise(batches):
        assert after - before >= 0.29
    assert max(len(offsets) for offsets, _, _ in batches) > 1


def test_a_full_batch_goes_out_without_waiting_for_the_window() -> None:
    batches = asyncio.run(run(3, 5.0, 0.0, burst, settle=0.5))

    # long before the window ends, the batches after the first go out as they fill
    assert len(batches) >= 2
    assert all(len(offsets) == 3 for offsets, _, _ in batches[1:])


def test_clearing_drops_the_records_not_handed_out_and_makes_room() -> None:
    # a rebalance: the records not yet taken are fetched again from the committed offsets,
    # and a delivery that waited for room goes on
    async def scenario() -> tuple[list[int], bool]:
        inbox = Inbox(2, 5.0)
        inbox.add(message(0))
        inbox.add(message(1))
        assert inbox.is_full()
        waiting = asyncio.create_task(deliver(inbox, range(2, 3)))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        inbox.clear()
        await asyncio.wait_for(waiting, 1.0)
        return [r.message.offset for r in inbox.records], inbox.is_full()

    assert asyncio.run(scenario()) == ([2], False)
