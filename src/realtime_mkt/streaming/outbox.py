"""The records a batch produces, handed to the producer before the batch is acknowledged."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder
from faust.types import TP, AppT
from faust.utils import json

from realtime_mkt.streaming import routing
from realtime_mkt.streaming.fatal import EXIT_UNDELIVERED, end_worker

log = logging.getLogger(__name__)


class Outbox:
    """Output records collected while a batch is handled, then appended to the producer at once.

    Faust's `send_soon` passes every record through a queue, a future message, its topic and
    the sensors before it reaches the producer; on the worker's hot path that cost more than the
    engine. The outbox goes straight to Faust's producer (its aiokafka driver). An agent calls
    `flush` before its batch is acknowledged, and Faust flushes the producer before it commits
    offsets, so a committed input always has its outputs on the broker (at-least-once), as
    with `send_soon`.

    A record the producer gave up on (after its retries: `producer_request_timeout`, 20 minutes
    of a broker that does not take it, or at once for an error no retry mends) ends the worker
    at once, as a kill would (`undelivered`, by default `exit_undelivered`; `fatal.py`): its
    inputs must not be committed, nor the states they made stored (Kafka Streams' default
    production handler fails its thread the same way).

    Tables' changelog records go the same way (`ChangelogTable`): Faust would put them in its
    producer buffer, whose flush gives up after 0.1 s without progress, so Faust could commit an
    input's offset (and a stopping worker exit) while the state it produced was still in that
    buffer. A worker restored from the changelog then missed that state (faust-streaming 0.15.3).
    A flush appends the outputs first: decisions should not wait behind state bookkeeping.
    """

    def __init__(
        self,
        app: AppT,
        topic_names: Mapping[str, str],
        undelivered: Callable[[int, BaseException], None] | None = None,
    ) -> None:
        self.app = app
        self.topic_names = topic_names  # logical name -> Kafka topic
        self.undelivered = undelivered or exit_undelivered
        self.records: list[tuple[str, int | None, bytes | None, bytes]] = []
        self.changelog: list[tuple[ChangelogTable, int, bytes, bytes | None]] = []
        self.lock = asyncio.Lock()

    def add(self, topic: str, key: bytes | None, value: Any, partition: int | None = None) -> None:
        """Queue one record of logical topic `topic` for `partition` (None: the key's);
        `value` is JSON-encoded."""
        self.records.append((self.topic_names[topic], partition, key, orjson.dumps(value)))

    def add_changelog(
        self, table: ChangelogTable, partition: int, key: bytes, value: bytes | None
    ) -> None:
        """Queue one record of `table`'s changelog partition (a `None` value: a deletion)."""
        self.changelog.append((table, partition, key, value))

    def _on_delivery(self, records: int, delivery: asyncio.Future) -> None:
        if not delivery.cancelled() and (error := delivery.exception()) is not None:
            self.undelivered(records, error)

    async def flush(self, delivered: bool = False) -> None:
        """Append every queued record to the producer; with `delivered`, return only once the
        broker has acknowledged them (or the producer has given up on them).

        The lock makes a caller wait while another one is still appending records it queued:
        when `flush` returns, the caller's records are in the producer.
        """
        async with self.lock:
            records, self.records = self.records, []
            changelog, self.changelog = self.changelog, []
            batches = PartitionBatches(self.app.producer._ensure_producer())
            for topic, partition, key, value in records:
                await batches.add(topic, partition, key, value)
            last: dict[tuple[ChangelogTable, int], tuple[str, int]] = {}
            for table, partition, key, value in changelog:
                topic = table.changelog_topic_name
                await batches.add(topic, partition, key, value)
                last[table, partition] = topic, partition
            deliveries = await batches.send()
            for (table, _), where in last.items():
                delivery, count = deliveries[where][-1]
                delivery.add_done_callback(functools.partial(table.on_changelog_delivered, count))
            for delivery, count in itertools.chain.from_iterable(deliveries.values()):
                delivery.add_done_callback(functools.partial(self._on_delivery, count))
        if delivered and deliveries:
            await asyncio.wait([d for sent in deliveries.values() for d, _ in sent])


class PartitionBatches:
    """One flush's records gathered per topic partition into aiokafka record batches, each
    appended to the producer whole, with one delivery future.

    The producer's `send` takes a record at a time: it waits on the topic's metadata, picks the
    partition, finds the partition's open batch and makes a future for the record, which cost
    more per record than the engine's work on a click. Here a record is appended to its
    partition's batch; the partition is the default partitioner's (murmur2 of the key,
    `routing.partition_of`), a random one for a record without a key. The order of each
    partition's records is kept, which is all the order Kafka keeps.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self.batches: dict[tuple[str, int], list[BatchBuilder]] = {}

    async def add(
        self, topic: str, partition: int | None, key: bytes | None, value: bytes | None
    ) -> None:
        """Append one record to the batch of `topic`'s `partition` (None: the partitioner's)."""
        if partition is None:
            partition = await self._partition(topic, key)
        chain = self.batches.get((topic, partition))
        if chain is None:
            chain = self.batches[topic, partition] = [self.producer.create_batch()]
        if chain[-1].append(timestamp=None, key=key, value=value) is None:  # full
            chain.append(self.producer.create_batch())
            chain[-1].append(timestamp=None, key=key, value=value)

    async def _partition(self, topic: str, key: bytes | None) -> int:
        cluster = self.producer.client.cluster
        partitions = cluster.partitions_for_topic(topic)
        if partitions is None:
            await self.producer.client._wait_on_metadata(topic)
            partitions = cluster.partitions_for_topic(topic)
        if key is None:
            return random.randrange(len(partitions))
        return routing.partition_of(key, len(partitions))

    async def send(self) -> dict[tuple[str, int], list[tuple[asyncio.Future, int]]]:
        """Append the batches to the producer, in the order their partitions were first given
        a record; each batch's delivery future and record count, per topic partition."""
        sent: dict[tuple[str, int], list[tuple[asyncio.Future, int]]] = {}
        for (topic, partition), chain in self.batches.items():
            sent[topic, partition] = [
                (await self.producer.send_batch(batch, topic, partition=partition),
                 batch.record_count())
                for batch in chain
            ]  # fmt: skip
        return sent


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

    def on_changelog_delivered(self, records: int, delivery: asyncio.Future) -> None:
        """Keep in the partition's RocksDB the offset its changelog has reached (as Faust does
        for each record), once the last batch of `records` records of a flush is delivered
        (its metadata gives the offset of the first)."""
        if delivery.cancelled() or delivery.exception() is not None:
            return
        metadata = delivery.result()
        tp = TP(metadata.topic, metadata.partition)
        self.data.set_persisted_offset(tp, metadata.offset + records - 1)


def exit_undelivered(records: int, error: BaseException) -> None:
    """End the worker process at once: `records` produced records were not delivered (`error`)."""
    end_worker(EXIT_UNDELIVERED, "%d produced records were not delivered: %r.", records, error)
