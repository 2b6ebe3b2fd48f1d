"""`take_batches`: an in-memory Faust channel's events, batched while the agent works."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from itertools import pairwise

import faust

from realtime_mkt.streaming.take import take_batches

Batch = tuple[list[int], float, list[int]]  # values, when handed out, values acknowledged by then


async def run(
    max_: int,
    within: float,
    handle_seconds: float,
    send: Callable[[faust.ChannelT], Awaitable[None]],
    settle: float,
) -> list[Batch]:
    """The batches an agent taking `handle_seconds` over each one is handed while `send` runs."""
    app = faust.App("test-take", store="memory://")
    app.flow_control.resume()
    channel = app.channel()
    stream = channel.stream()
    acked: list[int] = []
    ack = stream.ack

    async def counted_ack(event: faust.EventT) -> bool:
        acked.append(event.value)
        return await ack(event)

    stream.ack = counted_ack  # type: ignore[method-assign]
    batches: list[Batch] = []

    async def agent() -> None:
        async for batch in take_batches(stream, max_, within):
            batches.append(([e.value for e in batch], time.monotonic(), list(acked)))
            await asyncio.sleep(handle_seconds)

    task = asyncio.create_task(agent())
    await asyncio.sleep(0.1)  # the stream subscribes to the channel when it starts reading
    await send(channel)
    await asyncio.sleep(settle)
    task.cancel()
    return batches


async def burst(channel: faust.ChannelT, n: int = 7) -> None:
    for value in range(n):
        await channel.send(value=value)


def test_events_that_arrive_while_the_agent_works_wait_for_it_not_for_another_window() -> None:
    batches = asyncio.run(run(3, 0.2, 0.3, burst, settle=1.5))

    assert [v for values, _, _ in batches for v in values] == list(range(7))
    assert all(len(values) <= 3 for values, _, _ in batches)
    for (_, before, _), (_, after, _) in pairwise(batches):
        # handed out as the agent asks (0.3 s), not a window (0.2 s) after that
        assert 0.29 <= after - before < 0.45
    for n, (_, _, acked) in enumerate(batches):
        # a batch's events are acknowledged once the agent has handled it, not before
        assert acked == [v for values, _, _ in batches[:n] for v in values]


def test_at_most_one_batch_per_window() -> None:
    async def trickle(channel: faust.ChannelT) -> None:
        for value in range(20):
            await channel.send(value=value)
            await asyncio.sleep(0.05)

    batches = asyncio.run(run(1000, 0.3, 0.0, trickle, settle=0.8))

    assert [v for values, _, _ in batches for v in values] == list(range(20))
    for (_, before, _), (_, after, _) in pairwise(batches):
        assert after - before >= 0.29
    assert max(len(values) for values, _, _ in batches) > 1


def test_a_full_batch_goes_out_without_waiting_for_the_window() -> None:
    batches = asyncio.run(run(3, 5.0, 0.0, burst, settle=0.5))

    # long before the window ends, the batches after the first go out as they fill
    assert len(batches) >= 2
    assert all(len(values) == 3 for values, _, _ in batches[1:])
