"""Faust's Kafka consumer, made to hand on each fetched record in its place or fetch it again.

Faust's consumer fetches in its own thread and hands the records on from the event loop, where
meanwhile a recovery or a rebalance may have changed what it should hand on. Its ways of
coping lost records or stalled the group's commits (`benchmarks/handover.py`, *kill*):

- It hands on only the records of the partitions active when it hands them on, checked against
  the set its thread fetched with, which a restore changes meanwhile (a partition paused while
  its table is restored, a standby started). The rest were dropped, with the consumer's
  position already past them. A partition with nothing committed yet lost them for good (a
  worker joining its group while orders arrived dropped the first ~400 orders of each partition
  it took over, and the commit moved past them); a standby copy missed changelog records.
- It went on handing on a fetch's records after the partition had been sought back to its
  committed offset (the end of a restore) and fetched again from there. Faust took the jump
  ahead for a gap in the log and marked the offsets skipped as acknowledged; the records read
  again then acknowledged them twice, and the duplicates held the commit to one offset a turn.
  Records handed on while that seek was under way did the same: Faust sets its read offsets
  back on the event loop only once the consumer thread has sought the partitions.

Here each partition is checked, record by record, against where it stood when the records came
(its state in the consumer and its position): a partition sought or reassigned since has its
remaining records left out, since its new position fetches them again; a partition still where
the fetch left it but not to be handed on (paused, the flow stopped, or a seek to the committed
offsets under way) goes back to its first record left out.

Faust's fetch loop hands each record to its conductor inside `Service.wait_first`, racing the
delivery against a rebalance (`suspend_flow`): four asyncio tasks, an `asyncio.wait` and three
cancellations per record, about a tenth of the worker's CPU. Here the records of one fetch are
delivered in order by one task, raced once: a rebalance still cuts the delivery short wherever
it waits (a full stream buffer, most often); the records not delivered are not marked read, and
the rebalance ends by seeking the partitions to their committed offsets.

The records of the agents' input topics go from that task straight into the agent's inbox
(`streaming/inbox.py`), not through Faust's conductor, channel queue and stream; the other
topics' records (Faust's own) go to the conductor as before.

The broker holds a fetch at most `FETCH_MAX_WAIT_MS` (Faust asks aiokafka for 1.5 s). aiokafka,
like Kafka's Java client, keeps one fetch in flight per broker, for the partitions none of whose
records are still buffered: while the worker works through a fetch of its backlog, the next
fetch asks only for the quiet partitions (standby changelogs, a topic with nothing new), and the
broker holds it until one of them has a record. The backlog's partitions could be fetched again
only after that: two workers on a waiting backlog sat idle up to 1.5 s at a time, their main
threads busy 50-65 % of the time (`docs/benchmarks.md`, *Stop 27*).

Registered for Faust as the `realtime-kafka://` transport (entry point `faust.transports`) and
used for the app's consumer (`broker_consumer`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka
from faust.types import TP, Message
from mode import ServiceT

SCHEME = "realtime-kafka"
log = logging.getLogger(__name__)

Mark = tuple[object, int | None]  # a partition's state in the consumer, and its position
YIELD_EVERY = 100  # records delivered between two turns given to the event loop, as in Faust
FETCH_MAX_WAIT_MS = 50  # the longest the broker holds a fetch for records that are not there yet


def consumer_url(bootstrap_servers: str) -> str:
    """The `broker_consumer` setting of an app whose consumer is `Consumer`."""
    return f"{SCHEME}://{bootstrap_servers}"


class ConsumerThread(aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, its fetches held by the broker at most `FETCH_MAX_WAIT_MS`."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        created = super()._create_worker_consumer(transport)
        created._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
        return created


class Consumer(aiokafka.Consumer):
    """Faust's aiokafka consumer; a fetched record is handed on where it belongs or fetched
    again."""

    _marks: Mapping[TP, Mark | None] = {}  # where the last fetch left each partition
    _seeking = 0  # seeks to committed offsets under way (`perform_seek`)

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _mark(self, tp: TP) -> Mark | None:
        """Where `tp` stands in aiokafka's consumer: a seek moves its position, a rebalance
        replaces its state; None if it is not assigned."""
        subscription = self._thread._ensure_consumer()._subscription.subscription
        assignment = subscription.assignment if subscription is not None else None
        state = assignment.state_value(tp) if assignment is not None else None
        return (state, state._position) if state is not None else None

    def fetched_end(self, tp: TP) -> int | None:
        """`tp`'s log end as its last fetch saw it; None if it is not assigned (a rebalance
        under way) or not fetched yet."""
        mark = self._mark(tp)
        return None if mark is None else mark[0].highwater  # type: ignore[attr-defined]

    def committed_offset(self, tp: TP) -> int:
        """Where the group's current generation began reading `tp`, or has committed it to since
        (Faust's record of its commits, set again at each rebalance's seek); 0 if the group has
        never committed it (it reads from the start)."""
        return self._committed_offset.get(tp) or 0

    async def perform_seek(self) -> None:
        """Faust's seek of every partition to its committed offset, during which nothing is
        handed on: the partitions are sought in the consumer thread, and Faust's read offsets
        set back only after, on the event loop; a record handed on in between was dropped as
        read already, or taken for the end of a gap in the log."""
        self._seeking += 1
        try:
            await super().perform_seek()
        finally:
            self._seeking -= 1

    async def _drain_messages(self, fetcher: ServiceT) -> None:
        """Faust's fetch loop, each fetch's delivery raced once against a rebalance; the fetch
        and the count-based commit (`broker_commit_every`) stay outside the race."""
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set  # type: ignore[attr-defined]
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                fetched = self.getmany(timeout=1.0)
                await self.sleep(0)  # as Faust: getmany may return at once, again and again
                if not self.should_stop:
                    first = await anext(fetched, None)
                    if first is not None:
                        if self._commit_every is not None and self._n_acked >= self._commit_every:
                            self._n_acked = 0
                            await self.commit()
                        await self.wait_first(
                            self._deliver(first, fetched), self.suspend_flow.wait()
                        )
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver(
        self, first: tuple[TP, Message], rest: AsyncIterator[tuple[TP, Message]]
    ) -> None:
        """Hand a fetch's records on in order, each marked read once delivered: to its topic's
        inbox (`App.inbox`), a standby partition's to `App.standby_copies` (written before
        any turn of the event loop), or else to the conductor; a record below its partition's read
        offset is dropped as read, and a jump over offsets is noted as a gap for the commit (as
        Faust does)."""
        callback = self.callback
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        inboxes = self.app.inboxes
        standby = self.app.standby_copies
        flow_control = self.app.flow_control
        since_yield = 0
        tp, message = first
        try:
            while True:
                since_yield += 1
                if since_yield > YIELD_EVERY:
                    standby.write()
                    await asyncio.sleep(0)
                    since_yield = 0
                offset = message.offset
                last = read_offset[tp]
                if last is None or offset >= last:
                    if last and offset - last > 1 and acks_enabled_for(message.topic):
                        standby.write()
                        await self._add_gap(tp, last + 1, offset)
                    inbox = inboxes.get(message.topic)
                    if inbox is not None:  # what Faust's conductor waits for before it queues
                        if not flow_control.is_active():
                            standby.write()
                            await flow_control.acquire()
                        if inbox.is_full():
                            standby.write()
                            await inbox.wait_for_room()
                        inbox.add(message)
                    elif standby.takes(tp):
                        standby.add(message)
                    else:
                        standby.write()
                        await callback(message)
                    read_offset[tp] = offset
                else:
                    log.debug("%s at %d read already, left out", tp, offset)
                try:
                    tp, message = await anext(rest)
                except StopAsyncIteration:
                    return
        finally:
            standby.write()

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        thread = self._thread
        consumer = thread._ensure_consumer()

        async def fetch() -> tuple[Any, dict[TP, Mark | None]]:
            # in the consumer thread, where seeks and rebalances run too: the records and where
            # they left their partitions, read at once
            records = await thread._fetch_records(
                consumer, active_partitions, timeout=timeout, max_records=consumer._max_poll_records
            )
            return records, {tp: self._mark(tp) for tp in records}

        records, self._marks = await thread.call_thread(fetch)
        return records

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's `Consumer.getmany` (records round robin over partitions), each record handed
        on only while its partition stands where the fetch left it and is to be handed on."""
        records, active_partitions = await self._wait_next_records(timeout)
        if records is None or self.should_stop:
            return
        marks = self._marks
        left_out: dict[TP, int | None] = {}  # partition -> where to fetch again (None: moved)
        for tp in records:  # Faust's lag monitor: once a fetch, not once a record
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
        for tp, record in self.scheduler.iterate(records):
            if tp in left_out:
                continue
            if self._mark(tp) != marks.get(tp):
                left_out[tp] = None
            elif (
                self.flow_active
                and not self._seeking
                and (
                    active_partitions is None
                    or tp in active_partitions
                    or tp in self._buffered_partitions
                )
            ):
                yield tp, self._to_message(tp, record)
            else:
                left_out[tp] = record.offset
        again = {tp: offset for tp, offset in left_out.items() if offset is not None}
        if again:
            self.app.standby_copies.write()  # the delivery's records, before the loop's turn
            await self._thread.call_thread(self._rewind, again, marks)

    async def _rewind(self, positions: Mapping[TP, int], marks: Mapping[TP, Mark | None]) -> None:
        """In the consumer thread (no await: nothing else runs there meanwhile): move each
        partition back to `positions` if it still stands where the fetch left it."""
        consumer = self._thread._ensure_consumer()
        moved = {tp: offset for tp, offset in positions.items() if self._mark(tp) == marks.get(tp)}
        for tp, offset in moved.items():
            consumer.seek(tp, offset)
        log.debug("fetching again from %s", moved)


class Transport(aiokafka.Transport):
    """Faust's aiokafka transport with `Consumer`."""

    Consumer = Consumer
