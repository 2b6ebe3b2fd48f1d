"""The records a batch produces, handed to the producer before the batch is acknowledged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import faust
import orjson
from faust.types import AppT, FutureMessage

from realtime_mkt.streaming import metrics

log = logging.getLogger(__name__)


class Outbox:
    """Output records collected while a batch is handled, then appended to the producer at once.

    Faust's `send_soon` passes every record through a queue, a future message, its topic and
    the sensors before it reaches the producer; on the worker's hot path that cost more than the
    engine. The outbox goes straight to Faust's producer (its aiokafka driver). An agent calls
    `flush` before its batch is acknowledged, and Faust flushes the producer before it commits
    offsets, so a committed input always has its outputs on the broker (at-least-once), as
    with `send_soon`. Delivery failures (after the producer's own retries) are logged and
    counted, as Faust's sensors count them.

    Tables' changelog records go the same way (`ChangelogTable`): Faust would put them in its
    producer buffer, whose flush gives up after 0.1 s without progress, so Faust could commit an
    input's offset (and a stopping worker exit) while the state it produced was still in that
    buffer. A worker restored from the changelog then missed that state (faust-streaming 0.15.3).
    A flush appends the outputs first: decisions should not wait behind state bookkeeping.
    """

    def __init__(self, app: AppT, topic_names: Mapping[str, str]) -> None:
        self.app = app
        self.topic_names = topic_names  # logical name -> Kafka topic
        self.records: list[tuple[str, bytes | None, bytes]] = []
        self.changelog: list[FutureMessage] = []
        self.lock = asyncio.Lock()

    def add(self, topic: str, key: bytes | None, value: Any) -> None:
        """Queue one record of logical topic `topic`; `value` is JSON-encoded."""
        self.records.append((self.topic_names[topic], key, orjson.dumps(value)))

    def add_message(self, message: FutureMessage) -> None:
        """Queue a message Faust prepared (a table's changelog record); it keeps its callbacks."""
        self.changelog.append(message)

    async def flush(self, delivered: bool = False) -> None:
        """Append every queued record to the producer; with `delivered`, return only once the
        broker has acknowledged them (or the producer has given up on them).

        The lock makes a caller wait while another one is still appending records it queued:
        when `flush` returns, the caller's records are in the producer.
        """
        async with self.lock:
            records, self.records = self.records, []
            changelog, self.changelog = self.changelog, []
            deliveries = []
            for topic, key, value in records:
                deliveries.append(await self.app.producer.send(topic, key, value, None, None, None))
            for message in changelog:
                deliveries.append(
                    await message.message.channel.publish_message(message, wait=False)
                )
            for delivery in deliveries:
                delivery.add_done_callback(_report_failure)
        if delivered and deliveries:
            await asyncio.wait(deliveries)


class ChangelogTable(faust.Table):
    """A Faust table whose changelog records leave with the batch's outputs, through `outbox`."""

    def __init__(self, app: AppT, *, outbox: Outbox, **kwargs: Any) -> None:
        self.outbox = outbox
        super().__init__(app, **kwargs)

    def send_changelog(
        self,
        partition: int | None,
        key: Any,
        value: Any,
        key_serializer: Any = None,
        value_serializer: Any = None,
    ) -> FutureMessage:
        """What Faust's `send_changelog` does, except that the record waits in the outbox."""
        message = self.changelog_topic.as_future_message(
            key=key,
            value=value,
            partition=partition,
            key_serializer=key_serializer or self.key_serializer,
            value_serializer=value_serializer or self.value_serializer,
            callback=self._on_changelog_sent,  # records the offset in RocksDB, as Faust does
            eager_partitioning=True,
        )
        self.outbox.add_message(message)
        return message


def _report_failure(delivery: asyncio.Future) -> None:
    if delivery.cancelled() or delivery.exception() is None:
        return
    metrics.SEND_ERRORS.inc()
    log.error("a produced record was not delivered: %r", delivery.exception())
