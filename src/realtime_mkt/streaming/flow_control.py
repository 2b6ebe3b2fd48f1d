"""Faust's stream flow control, without dropping records that arrive while it already flows;
the app's inboxes (`streaming/inbox.py`), which it clears with Faust's queues; and its standby
copies (`streaming/standby.py`).

Faust stops the flow of records into its streams' queues when a rebalance begins and clears
the queues then (what they hold belongs to the generation ending); it resumes the flow when the
new assignment's tables are restored. Resuming clears the queues again, and Faust resumes twice
in a row after a restore: once before reading the changelogs, once after seeking the streams'
partitions to their committed offsets. The records fetched after that seek and queued before
the second resume were cleared: read, never handed to an agent, never acknowledged. The group's
commit then stopped at the first of them for good, or, where nothing had been committed yet or
only one record was missing, moved past them (`benchmarks/handover.py`, *kill*: an order now
and then lost by the surviving worker, commits stalled in others).

Here resuming a flow that is not stopped changes nothing: only a queue filled before a
rebalance is cleared.
"""

from __future__ import annotations

from collections.abc import Iterable

import faust
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from realtime_mkt.streaming.inbox import Inbox
from realtime_mkt.streaming.standby import StandbyCopies


class FlowControl(FlowControlEvent):
    """Clears its queues when the flow resumes after a stop, not when it already flows."""

    def resume(self) -> None:
        """Resume production into the queues, clearing them if the flow was stopped."""
        if not self.is_active():
            super().resume()


class App(faust.App):
    """`faust.App` whose streams' flow control is `FlowControl`, and whose consumer hands the
    records of some topics to inboxes (`inbox`) instead of Faust's streams, and those of its
    standby partitions to `standby_copies` instead of Faust's recovery."""

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return FlowControl(loop=self.loop)

    @cached_property
    def inboxes(self) -> dict[str, Inbox]:
        """Topic name -> the inbox its records go to (`streaming/consumer.py`)."""
        return {}

    @cached_property
    def standby_copies(self) -> StandbyCopies:
        """Where the consumer writes the standby partitions' changelog records."""
        return StandbyCopies(self)

    def inbox(self, topics: Iterable[str], max_: int, within: float) -> Inbox:
        """An inbox for the records of `topics` (full names), cleared with Faust's queues."""
        created = Inbox(max_, within)
        for name in topics:
            self.inboxes[name] = created
        self.flow_control.manage_queue(created)
        return created
