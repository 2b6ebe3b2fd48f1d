"""Restoring a table's partitions from their changelogs in bulk, before Faust's recovery does.

Faust restores a partition that is behind its changelog record by record: each record goes
through its consumer, a queue and awaited callbacks (about 4,300 records/s here). A partition
newly assigned to this worker and behind by at least `bulk_min_records` is read here instead,
straight into RocksDB write batches, one per fetch: raw key to raw value, a tombstone deletes,
and Faust's persisted offset goes in the same batch, as Faust writes them. Faust's recovery
then starts from that offset and reads only what arrived meanwhile. Standby partitions are left
to Faust.

The reading is bound by one core (record parsing, zstd, RocksDB inserts, all under the GIL), so
the partitions are shared among up to one child process per core (`python -m` this module), each
with an aiokafka consumer and the partitions' databases, which the store closes meanwhile. The
writes skip RocksDB's write-ahead log, into large memtables with compactions off, and the
databases are flushed at the end: a reader killed midway leaves each database as of a flushed
batch, its offset with it, which Faust resumes from. The worker's own options are set again on
every database the store opens.

Whether a partition is that far behind is judged on the changelog's end offsets read when it
is handed to the worker. Until stop 27 they were read when the store started and every minute
after: with Faust's 1.5 s fetches, any wait inside its rebalance callback cost its recovery
about 3 s more (its consumer thread's offset requests queued behind a held fetch), and a
partition whose changelog had grown since the last reading was left to Faust's slow recovery.
The worker's fetches are now held 50 ms at most (`streaming/consumer.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rocksdict
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.stores import rocksdb
from faust.stores.rocksdb import RocksDBOptions
from faust.types import TP, CollectionT
from yarl import URL

from realtime_mkt.settings import Settings

log = logging.getLogger(__name__)

STALL_SECONDS = 60.0  # no record for this long: give up and leave the rest to Faust
FETCH_BYTES = 16 * 2**20  # per partition and fetch (aiokafka's default: 1 MiB)
# A reader's databases: memtables of 128 MiB (the worker's: 16 MiB) and no compactions while it
# writes, which at a million SKUs took more than half the restore's time; the worker's RocksDB
# compacts the files in the background once it opens them. A database left with more files in
# level 0 than this is compacted by the reader first: from 20 on RocksDB slows writes down.
READER_WRITE_BUFFER_BYTES = 128 * 2**20
MAX_LEVEL0_FILES = 16


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

    The offset is stored with each batch, and the batches skip the write-ahead log: each
    database is flushed at the end, however the restore ends, and one cut short (an error, a
    stall, a kill) holds the data and offset of a flushed batch, which Faust resumes from.
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
        options = unlogged()
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
                partitions[tp][0].write(batch, options)
                written[tp] += len(records)
                last_progress = time.monotonic()
            for tp in [tp for tp, end in behind.items() if await consumer.position(tp) >= end]:
                consumer.pause(tp)
                del behind[tp]
        return written
    finally:
        for database, _ in partitions.values():
            database.flush()
        await consumer.stop()


def shares(behind: Mapping[TopicPartition, int], processes: int) -> list[list[TopicPartition]]:
    """The partitions (-> records behind) dealt out to at most `processes` readers, so that
    their records to read come out as even as whole partitions allow (largest first, each to
    the reader with the fewest so far)."""
    totals = [0] * processes
    groups: list[list[TopicPartition]] = [[] for _ in range(processes)]
    for tp in sorted(behind, key=lambda tp: (-behind[tp], tp)):
        least = totals.index(min(totals))
        groups[least].append(tp)
        totals[least] += behind[tp]
    return [group for group in groups if group]


async def restore_in_processes(
    bootstrap_servers: str,
    partitions: Mapping[TopicPartition, tuple[Path, int | None, int]],
    options: RocksDBOptions,
    offset_key: bytes,
) -> dict[TopicPartition, int]:
    """`restore` the partitions (-> closed database's path, persisted offset or None, records
    behind) in up to one child process per core; records written per partition of the readers
    that finished. A reader that failed is logged: its partitions hold what it wrote."""
    groups = shares({tp: job[2] for tp, job in partitions.items()}, os.cpu_count() or 1)
    results = await asyncio.gather(
        *(
            _read_in_child(
                {
                    "bootstrap_servers": bootstrap_servers,
                    "partitions": {tp: partitions[tp][:2] for tp in group},
                    "options": options,
                    "offset_key": offset_key,
                }
            )
            for group in groups
        ),
        return_exceptions=True,
    )
    written: dict[TopicPartition, int] = {}
    for group, result in zip(groups, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("bulk restore of %s stopped: %r; Faust's recovery goes on", group, result)
        else:
            written.update(result)
    return written


async def _read_in_child(job: dict[str, Any]) -> dict[TopicPartition, int]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __spec__.name,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    try:
        child.stdin.write(pickle.dumps(job))  # stdin stays open: the child ends when it closes
        await child.stdin.drain()
        out, err = await asyncio.gather(child.stdout.read(), child.stderr.read())
        code = await child.wait()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        child.stdin.close()
    if code != 0:
        raise RuntimeError(f"changelog reader exited with {code}: {err.decode()[-2000:]}")
    return {TopicPartition(name, partition): n for name, partition, n in json.loads(out)}


def _child_main() -> None:
    """A changelog reader (`python -m` this module): the job pickled on stdin, the records
    written per partition as JSON on stdout; it exits when its stdin closes (its worker gone)."""
    job = pickle.load(sys.stdin.buffer)
    threading.Thread(target=_exit_when_orphaned, daemon=True).start()
    databases = {
        tp: (open_for_restore(job["options"], Path(path)), persisted)
        for tp, (path, persisted) in job["partitions"].items()
    }
    try:
        written = restore(job["bootstrap_servers"], databases, job["offset_key"])
    finally:
        for database, _ in databases.values():
            if database.property_int_value("rocksdb.num-files-at-level0") > MAX_LEVEL0_FILES:
                database.compact_range(None, None)
            database.set_options(worker_options(job["options"]))
            database.close()
    json.dump([[tp.topic, tp.partition, n] for tp, n in written.items()], sys.stdout)


def mutable_options(compactions: bool, write_buffer_size: int, buffers: int) -> dict[str, str]:
    """The options a restore changes, all of them RocksDB's mutable ones, as `set_options`
    takes them."""
    return {
        "disable_auto_compactions": str(not compactions).lower(),
        "write_buffer_size": str(write_buffer_size),
        "max_write_buffer_number": str(buffers),
    }


def unlogged() -> rocksdict.WriteOptions:
    """Writes that skip RocksDB's write-ahead log: the changelog is the table's log."""
    options = rocksdict.WriteOptions()
    options.disable_wal = True
    return options


def worker_options(options: RocksDBOptions) -> dict[str, str]:
    """The worker's settings of the options a restore changes."""
    return mutable_options(True, options.write_buffer_size, options.max_write_buffer_number)


def open_as_worker(options: RocksDBOptions, path: Path) -> rocksdict.Rdict:
    """A partition's database with the worker's options. rocksdict opens an existing database
    with the options stored in it (its OPTIONS file) rather than those it is given, so the
    mutable ones are set again: a reader killed midway leaves its own stored.

    Its writes skip the write-ahead log, as Kafka Streams' stores do: the changelog is the
    table's log. A worker killed loses what its memtables held since their last flush, with
    the changelog offset stored alongside, and Faust's recovery reads those records again from
    there; the log cost 5 µs of each 7 µs put (`docs/benchmarks.md`, *Stop 23*)."""
    database = options.open(path)
    database.set_options(worker_options(options))
    database.set_write_options(unlogged())
    return database


def open_for_restore(options: RocksDBOptions, path: Path) -> rocksdict.Rdict:
    """A partition's database set for a reader: no compactions, large memtables."""
    database = options.open(path)
    database.set_options(mutable_options(False, READER_WRITE_BUFFER_BYTES, 2))
    return database


def _exit_when_orphaned() -> None:
    while os.read(sys.stdin.fileno(), 4096):  # b"": the worker closed the pipe or died
        pass
    os._exit(1)


class PartitionRestoring(Exception):
    """A table partition read while its changelog is being restored into it in bulk."""


class BulkRestoringStore(rocksdb.Store):
    """Faust's RocksDB store whose newly assigned active partitions are restored in bulk first
    (registered for Faust as `realtime-rocksdb://`, entry point `faust.stores`)."""

    def __init__(self, url: str | URL, app: Any, table: CollectionT, **kwargs: Any) -> None:
        query = URL(url).query
        self.bulk_min_records = int(
            query.get("bulk_min_records", Settings.bulk_restore_min_records)
        )
        self._restoring: set[int] = set()  # partitions whose databases readers hold
        super().__init__(url, app, table, **kwargs)

    def _servers(self) -> str:
        return ",".join(f"{url.host}:{url.port or 9092}" for url in self.app.conf.broker)

    def _open_for_partition(self, partition: int) -> rocksdict.Rdict:
        return open_as_worker(self.rocksdb_options, self.partition_path(partition))

    async def stop(self) -> None:
        """Flush each open database's memtables before Faust lets go of it: the worker writes
        without the write-ahead log (`open_as_worker`), so a restart would otherwise read what
        they held again from the changelog."""
        for database in self._dbs.values():
            database.flush()
        await super().stop()

    def _db_for_partition(self, partition: int) -> rocksdict.Rdict:
        if partition in self._restoring:
            raise PartitionRestoring(f"partition {partition} of {self.table.name} is restoring")
        return super()._db_for_partition(partition)

    async def assign_partitions(
        self, table: CollectionT, tps: set[TP], generation_id: int = 0
    ) -> None:
        """Open the partitions' databases (Faust), then restore those far behind in bulk."""
        await super().assign_partitions(table, tps, generation_id)
        standbys = self.app.assignor.assigned_standbys()
        actives = [
            TopicPartition(tp.topic, tp.partition)
            for tp in tps
            if tp.topic in table.changelog_topic.topics
            and tp not in standbys
            and tp.partition in self._dbs  # not opened: the rebalance moved on meanwhile
        ]
        if not actives:
            return
        try:
            ends = await end_offsets(self._servers(), actives)
        except Exception as exc:  # Faust's recovery restores them all
            log.warning("changelog end offsets not read, no bulk restore: %r", exc)
            return
        partitions: dict[TopicPartition, tuple[Path, int | None, int]] = {}
        for tp in actives:
            persisted, end = self.persisted_offset(tp), ends[tp]
            if far_behind(end, persisted, self.bulk_min_records):
                partitions[tp] = (
                    self.partition_path(tp.partition),
                    persisted,
                    end - first_missing(persisted),
                )
        if not partitions:
            return
        started = time.monotonic()
        self._restoring = {tp.partition for tp in partitions}
        for partition in self._restoring:  # the readers open them
            self._dbs.pop(partition).close()
        try:
            written = await restore_in_processes(
                self._servers(), partitions, self.rocksdb_options, self.offset_key
            )
        finally:
            reopened, self._restoring = self._restoring, set()
            for partition in reopened:
                self._db_for_partition(partition)
        for tp, count in written.items():
            log.info(
                "restored %d records of %s[%d] in bulk in %.1f s",
                count,
                tp.topic,
                tp.partition,
                time.monotonic() - started,
            )


if __name__ == "__main__":
    _child_main()
