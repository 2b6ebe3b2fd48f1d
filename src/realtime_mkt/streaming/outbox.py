"""The records a batch produces, handed to the producer before the batch is acknowledged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import faust
import orjson
from faust.types import TP, AppT
from faust.utils import json

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
        self.changelog: list[tuple[ChangelogTable, int, bytes, bytes | None]] = []
        self.lock = asyncio.Lock()

    def add(self, topic: str, key: bytes | None, value: Any) -> None:
        """Queue one record of logical topic `topic`; `value` is JSON-encoded."""
        self.records.append((self.topic_names[topic], key, orjson.dumps(value)))

    def add_changelog(
        self, table: ChangelogTable, partition: int, key: bytes, value: bytes | None
    ) -> None:
        """Queue one record of `table`'s changelog partition (a `None` value: a deletion)."""
        self.changelog.append((table, partition, key, value))

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
            last: dict[tuple[ChangelogTable, int], asyncio.Future] = {}
            for table, partition, key, value in changelog:
                delivery = await self.app.producer.send(
                    table.changelog_topic_name, key, value, partition, None, None
                )
                deliveries.append(delivery)
                last[table, partition] = delivery
            for (table, _), delivery in last.items():
                delivery.add_done_callback(table.on_changelog_delivered)
            for delivery in deliveries:
                delivery.add_done_callback(_report_failure)
        if delivered and deliveries:
            await asyncio.wait(deliveries)


class ChangelogTable(faust.Table):
    """A Faust table whose changelog records leave with the batch's outputs, through `outbox`.

    Faust wraps each record in a future message, publishes it through its topic and, once it is
    delivered, writes its offset to the partition's RocksDB (where a restarted worker resumes
    reading the changelog). Here a record is its encoded key and value, and the offset is
    written once per partition and flush, from its last record: per record, that bookkeeping
    cost more than the engine on a batch of clicks (a state written per user). Key expiry and
    Faust's table sensors, which this app does not use, are left out.

    Keys and values are JSON. The agents name the partition of each read and write
    (`get_in`, `set_in`), and the table encodes them with Faust's JSON functions directly (the
    bytes of Faust's `json` serializer, which its recovery and iteration decode), not through
    Faust's serializer registry and current-event lookup: those layers cost more than RocksDB.
    """

    def __init__(self, app: AppT, *, outbox: Outbox, **kwargs: Any) -> None:
        self.outbox = outbox
        schema = faust.Schema(key_serializer="json", value_serializer="json")
        super().__init__(app, schema=schema, **kwargs)

    @property
    def changelog_topic_name(self) -> str:
        """The Kafka topic of this table's changelog."""
        return self.changelog_topic.get_topic_name()

    def get(self, key: Any, default: Any = None) -> Any:
        """A key's value in whichever of this worker's partitions holds it, or `default` (for
        the web views, which read outside any batch)."""
        stored = self.data._get(json.dumps(key))
        return default if stored is None else json.loads(stored)

    def get_in(self, partition: int, key: Any, default: Any = None) -> Any:
        """A key's value in `partition`'s store, or `default`: one RocksDB read, where Faust's
        `get` finds the partition from the current event and reads the key twice."""
        stored = self.data._db_for_partition(partition).get(json.dumps(key))
        return default if stored is None else json.loads(stored)

    def set_in(self, partition: int, key: Any, value: Any) -> None:
        """Store a key's value in `partition`'s store and queue its changelog record, the key
        and value encoded once for both (Faust encodes them for each)."""
        key_bytes, value_bytes = json.dumps(key), json.dumps(value)
        self.outbox.add_changelog(self, partition, key_bytes, value_bytes)
        self.data._db_for_partition(partition).put(key_bytes, value_bytes)

    def on_changelog_delivered(self, delivery: asyncio.Future) -> None:
        """Keep in the partition's RocksDB the offset its changelog has reached (as Faust does
        for each record), once the last record of a flush is delivered."""
        if delivery.cancelled() or delivery.exception() is not None:
            return
        metadata = delivery.result()
        self.data.set_persisted_offset(TP(metadata.topic, metadata.partition), metadata.offset)


def _report_failure(delivery: asyncio.Future) -> None:
    if delivery.cancelled() or delivery.exception() is None:
        return
    metrics.SEND_ERRORS.inc()
    log.error("a produced record was not delivered: %r", delivery.exception())
