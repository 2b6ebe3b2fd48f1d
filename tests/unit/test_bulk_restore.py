import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import faust
from aiokafka import TopicPartition
from faust.stores.rocksdb import RocksDBOptions

from realtime_mkt.streaming.bulk_restore import (
    BulkRestoringStore,
    far_behind,
    open_as_worker,
    open_for_restore,
    shares,
    store_url,
)


def test_a_partition_is_far_behind_by_the_records_after_its_persisted_offset():
    assert far_behind(end=10_000, persisted=None, min_records=10_000)  # offsets 0..9,999
    assert not far_behind(end=9_999, persisted=None, min_records=10_000)
    assert far_behind(end=10_100, persisted=99, min_records=10_000)  # offsets 100..10,099
    assert not far_behind(end=10_100, persisted=100, min_records=10_000)
    assert not far_behind(end=0, persisted=None, min_records=0)  # nothing at all to restore
    assert far_behind(end=1, persisted=None, min_records=0)


def test_partitions_are_dealt_to_readers_so_their_records_come_out_even():
    p = [TopicPartition("changelog", i) for i in range(5)]
    behind = {p[0]: 100, p[1]: 60, p[2]: 50, p[3]: 40, p[4]: 10}
    assert shares(behind, 2) == [[p[0], p[3]], [p[1], p[2], p[4]]]  # 140 and 120 records
    assert shares(behind, 1) == [[p[0], p[1], p[2], p[3], p[4]]]
    assert shares({p[2]: 7}, 2) == [[p[2]]]  # no reader without a partition
    assert sorted(map(len, shares(dict.fromkeys(p, 5), 3))) == [1, 2, 2]


def readers_of(pid: int) -> list[int]:
    """The changelog readers whose parent is `pid` (Linux /proc), by their command line: the
    worker also runs short-lived children at import (`platform.architecture` runs `file`)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if ppid == pid and b"realtime_mkt.streaming.bulk_restore" in command:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_a_reader_ends_when_its_worker_is_killed(tmp_path):
    """A worker SIGKILLed mid-restore must not leave readers holding its databases' locks."""
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers: readers wait
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import asyncio, sys; from aiokafka import TopicPartition;"
            "from faust.stores.rocksdb import RocksDBOptions;"
            "from realtime_mkt.streaming.bulk_restore import restore_in_processes;"
            "asyncio.run(restore_in_processes(sys.argv[1], {TopicPartition('c', 0):"
            " (sys.argv[2], None, 1)}, RocksDBOptions(), b'offset'))",
            f"127.0.0.1:{silent.getsockname()[1]}",
            str(tmp_path / "p0.db"),
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not (readers := readers_of(worker.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(readers) == 1
        time.sleep(0.5)  # the reader has its job and waits on the broker
        assert alive(readers[0])
        worker.kill()
        worker.wait()
        deadline = time.monotonic() + 10
        while alive(readers[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(readers[0])
    finally:
        worker.kill()
        silent.close()


def level0_files(database) -> int:
    return database.property_int_value("rocksdb.num-files-at-level0")


def test_a_database_a_reader_left_is_compacted_once_the_worker_opens_it(tmp_path):
    """rocksdict opens an existing database with the options stored in it: a reader's (no
    compactions) would stay if the worker did not set its own again."""
    options = RocksDBOptions(write_buffer_size=2**20, max_write_buffer_number=2)
    path = tmp_path / "p0.db"
    options.open(path).close()  # the worker created it
    database = open_for_restore(options, path)
    for flush in range(6):
        for i in range(500):
            database.put(f"{flush}-{i}".encode(), bytes(1000))
        database.flush()
    time.sleep(0.5)
    assert level0_files(database) == 6  # none compacted
    database.close()  # a reader killed here leaves its settings stored
    reopened = options.open(path)  # as Faust opens it: the stored settings hold
    time.sleep(1)
    assert level0_files(reopened) == 6
    reopened.close()

    database = open_as_worker(options, path)
    deadline = time.monotonic() + 30
    while level0_files(database) >= 4 and time.monotonic() < deadline:  # RocksDB's trigger: 4
        time.sleep(0.1)
    assert level0_files(database) < 4
    assert database.get(b"5-499") == bytes(1000)
    database.close()


def wal_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.log"))


def test_the_worker_writes_without_the_write_ahead_log_and_its_store_flushes_when_it_stops(
    tmp_path,
):
    # the changelog is the table's log: a put costs a memtable insert, not a log record too
    app = faust.App("test-unlogged", datadir=str(tmp_path), store=store_url(0))
    table = app.Table("states", partitions=1)
    store = table.data
    assert isinstance(store, BulkRestoringStore)
    database = store._db_for_partition(0)
    path = store.partition_path(0)
    logged = wal_bytes(path)
    for i in range(200):
        database.put(f"user-{i}".encode(), bytes(1000))
    assert wal_bytes(path) == logged  # nothing logged
    assert database.property_int_value("rocksdb.num-entries-active-mem-table") == 200
    asyncio.run(store.stop())  # a worker stopping: what the memtables hold goes to disk
    assert database.property_int_value("rocksdb.num-entries-active-mem-table") == 0
    assert level0_files(database) == 1
