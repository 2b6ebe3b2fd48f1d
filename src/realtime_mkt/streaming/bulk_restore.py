"""Restoring a table's partitions from their changelogs in bulk, before Faust's recovery does.

Faust restores a partition that is behind its changelog record by record: each record goes
through its consumer, a queue and awaited callbacks (about 4,300 records/s here). A partition
newly assigned to this worker and behind by at least `bulk_min_records` is read here instead by
an aiokafka consumer of its own, on an event loop in a thread of its own, straight into RocksDB
write batches, one per fetch: raw key to raw value, a tombstone deletes, and Faust's persisted
offset goes in the same batch, as Faust writes them. Faust's recovery then starts from that
offset and reads only what arrived meanwhile. Standby partitions are left to Faust.

Whether a partition is that far behind is judged on the changelog's end offsets read when the
store starts, before the worker joins its group, and every minute after: any wait inside
Faust's rebalance callback costs its recovery about 3 s more (its consumer thread queues a
1.5 s fetch before each of its offset requests), so a partition not far behind must be passed
over at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import rocksdict
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.stores import rocksdb
from faust.types import TP, CollectionT
from mode import Service
from yarl import URL

log = logging.getLogger(__name__)

DEFAULT_MIN_RECORDS = 10_000  # below this Faust's own recovery is as quick (no consumer to set up)
STALL_SECONDS = 60.0  # no record for this long: give up and leave the rest to Faust
END_OFFSETS_SECONDS = 60.0  # how often the changelog's end offsets are read again
FETCH_BYTES = 16 * 2**20  # per partition and fetch (aiokafka's default: 1 MiB)


def store_url(min_records: int) -> str:
    """The `store` setting of a Faust app whose tables restore in bulk (`BulkRestoringStore`)."""
    return f"realtime-rocksdb://?bulk_min_records={min_records}"


async def end_offsets(
    bootstrap_servers: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The partitions' end offsets now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


def first_missing(persisted: int | None) -> int:
    """The first changelog offset a database holding it up to `persisted` (None: nothing) lacks."""
    return persisted + 1 if persisted is not None else 0


def far_behind(end: int, persisted: int | None, min_records: int) -> bool:
    """Whether a partition whose changelog ends at `end` and whose database holds it up to
    offset `persisted` (None: nothing) has at least `min_records` records to restore."""
    return end - first_missing(persisted) >= max(min_records, 1)


def restore(
    bootstrap_servers: str,
    partitions: Mapping[TopicPartition, tuple[rocksdict.Rdict, int | None]],
    offset_key: bytes,
) -> dict[TopicPartition, int]:
    """Write each changelog partition's records after its persisted offset into its database
    (partition -> (database, persisted offset or None)), up to the end offsets they have when
    this starts; records written per partition. Blocks: it runs its own event loop.

    The offset is stored with each batch, so a restore cut short (an error, a stall) leaves a
    database Faust resumes from.
    """
    return asyncio.run(_restore(bootstrap_servers, partitions, offset_key))


async def _restore(
    bootstrap_servers: str,
    partitions: Mapping[TopicPartition, tuple[rocksdict.Rdict, int | None]],
    offset_key: bytes,
) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=FETCH_BYTES,
        fetch_max_bytes=4 * FETCH_BYTES,
    )
    await consumer.start()
    try:
        wanted = list(partitions)
        begins = await consumer.beginning_offsets(wanted)
        ends = await consumer.end_offsets(wanted)
        starts = {
            tp: max(begins[tp], first_missing(persisted))
            for tp, (_, persisted) in partitions.items()
        }
        behind = {tp: ends[tp] for tp in wanted if ends[tp] > starts[tp]}
        written = dict.fromkeys(behind, 0)
        consumer.assign(list(behind))
        for tp in behind:
            consumer.seek(tp, starts[tp])
        last_progress = time.monotonic()
        while behind:
            if time.monotonic() - last_progress > STALL_SECONDS:
                raise TimeoutError(f"no changelog record for {STALL_SECONDS:.0f} s: {behind}")
            fetched = await consumer.getmany(*behind, timeout_ms=1000, max_records=5000)
            for tp, records in fetched.items():
                batch = rocksdict.WriteBatch(raw_mode=True)
                for record in records:
                    if record.value is None:
                        batch.delete(record.key)
                    else:
                        batch.put(record.key, record.value)
                batch.put(offset_key, str(records[-1].offset).encode())
                partitions[tp][0].write(batch)
                written[tp] += len(records)
                last_progress = time.monotonic()
            for tp in [tp for tp, end in behind.items() if await consumer.position(tp) >= end]:
                consumer.pause(tp)
                del behind[tp]
        return written
    finally:
        await consumer.stop()


class BulkRestoringStore(rocksdb.Store):
    """Faust's RocksDB store whose newly assigned active partitions are restored in bulk first
    (registered for Faust as `realtime-rocksdb://`, entry point `faust.stores`)."""

    def __init__(self, url: str | URL, app: Any, table: CollectionT, **kwargs: Any) -> None:
        query = URL(url).query
        self.bulk_min_records = int(query.get("bulk_min_records", DEFAULT_MIN_RECORDS))
        self.known_ends: dict[TopicPartition, int] = {}  # the changelog's, lately
        super().__init__(url, app, table, **kwargs)

    def _servers(self) -> str:
        return ",".join(f"{url.host}:{url.port or 9092}" for url in self.app.conf.broker)

    async def on_start(self) -> None:
        """Read the changelog's end offsets, before the worker joins its group."""
        await super().on_start()
        await self._read_end_offsets()

    @Service.timer(END_OFFSETS_SECONDS)
    async def _refresh_end_offsets(self) -> None:
        # a partition handed over hours after the start is judged on recent end offsets
        await self._read_end_offsets()

    async def _read_end_offsets(self) -> None:
        partitions = [
            TopicPartition(name, partition)
            for name in self.table.changelog_topic.topics
            for partition in range(self.table.partitions or self.app.conf.topic_partitions)
        ]
        try:
            self.known_ends = await end_offsets(self._servers(), partitions)
        except Exception as exc:  # judged on the last ones read (none: Faust restores all)
            log.warning("changelog end offsets not read: %r", exc)

    async def assign_partitions(
        self, table: CollectionT, tps: set[TP], generation_id: int = 0
    ) -> None:
        """Open the partitions' databases (Faust), then restore those far behind in bulk."""
        await super().assign_partitions(table, tps, generation_id)
        standbys = self.app.assignor.assigned_standbys()
        partitions: dict[TopicPartition, tuple[rocksdict.Rdict, int | None]] = {}
        for tp in tps:
            if tp.topic not in table.changelog_topic.topics or tp in standbys:
                continue
            if tp.partition not in self._dbs:  # not opened: the rebalance moved on meanwhile
                continue
            persisted = self.persisted_offset(tp)
            if far_behind(self.known_ends.get(tp, 0), persisted, self.bulk_min_records):
                partitions[TopicPartition(tp.topic, tp.partition)] = (
                    self._dbs[tp.partition],
                    persisted,
                )
        if not partitions:
            return
        started = time.monotonic()
        try:
            written = await asyncio.get_running_loop().run_in_executor(
                None, restore, self._servers(), partitions, self.offset_key
            )
        except Exception as exc:  # Faust's recovery reads what is left, from the stored offset
            log.warning("bulk restore of %s stopped: %r; Faust's recovery goes on", table, exc)
            return
        for tp, count in written.items():
            log.info(
                "restored %d records of %s[%d] in bulk in %.1f s",
                count,
                tp.topic,
                tp.partition,
                time.monotonic() - started,
            )
