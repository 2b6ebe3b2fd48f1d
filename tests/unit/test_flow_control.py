"""The streams' flow control keeps what its queues hold when it resumes while flowing, and
clears the app's inboxes with them (`streaming/flow_control.py`)."""

import asyncio

from faust.types import Message
from mode.utils.queues import FlowControlQueue

from realtime_mkt.streaming.flow_control import App, FlowControl


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


def inbox_after(*steps: str) -> list[int]:
    """What an inbox of the app holds after a record is added while flowing, then `steps`."""

    async def run() -> list[int]:
        app = App("test-inbox", store="memory://")
        inbox = app.inbox(["orders", "price-changes"], 10, 0.01)
        assert app.inboxes == {"orders": inbox, "price-changes": inbox}
        app.flow_control.resume()
        inbox.add(Message("orders", 0, 41, 0.0, 0, None, None, b"{}", None))
        for step in steps:
            getattr(app.flow_control, step)()
        return [r.message.offset for r in inbox.records]

    return asyncio.run(run())


def test_an_inbox_keeps_its_records_through_a_second_resume_and_loses_them_to_a_rebalance():
    assert inbox_after("resume") == [41]
    assert inbox_after("suspend", "clear") == []
    assert inbox_after("suspend", "resume") == []
