"""The records a batch produces, handed to the producer before the batch is acknowledged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from faust.types import AppT

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
    """

    def __init__(self, app: AppT, topic_names: Mapping[str, str]) -> None:
        self.app = app
        self.topic_names = topic_names  # logical name -> Kafka topic
        self.records: list[tuple[str, bytes | None, bytes]] = []
        self.lock = asyncio.Lock()

    def add(self, topic: str, key: bytes | None, value: Any) -> None:
        """Queue one record of logical topic `topic`; `value` is JSON-encoded."""
        self.records.append((self.topic_names[topic], key, orjson.dumps(value)))

    async def flush(self) -> None:
        """Append every queued record to the producer.

        The lock makes a caller wait while another one is still appending records it queued:
        when `flush` returns, the caller's records are in the producer.
        """
        async with self.lock:
            records, self.records = self.records, []
            for topic, key, value in records:
                delivery = await self.app.producer.send(topic, key, value, None, None, None)
                delivery.add_done_callback(_report_failure)


def _report_failure(delivery: asyncio.Future) -> None:
    if delivery.cancelled() or delivery.exception() is None:
        return
    metrics.SEND_ERRORS.inc()
    log.error("a produced record was not delivered: %r", delivery.exception())
