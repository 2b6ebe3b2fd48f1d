"""The streams' flow control keeps what its queues hold when it resumes while flowing
(`streaming/flow_control.py`)."""

import asyncio

from mode.utils.queues import FlowControlQueue

from realtime_mkt.streaming.flow_control import FlowControl


def queue_after(*steps: str) -> list[str]:
    """What a stream queue holds after a record is queued while flowing, then `steps`."""

    async def run() -> list[str]:
        flow = FlowControl()
        queue: FlowControlQueue = FlowControlQueue(flow_control=flow, clear_on_resume=True)
        flow.resume()
        await queue.put("orders@41")
        for step in steps:
            getattr(flow, step)()
        return [queue.get_nowait() for _ in range(queue.qsize())]

    return asyncio.run(run())


def test_a_record_queued_while_flowing_survives_a_second_resume():
    # Faust resumes once before restoring tables and once after seeking the streams'
    # partitions: a record fetched in between was cleared, and never acknowledged
    assert queue_after("resume") == ["orders@41"]


def test_a_record_queued_before_a_rebalance_is_cleared_when_the_flow_resumes():
    assert queue_after("suspend", "resume") == []
