"""Recovery time of a restarted worker holding many SKUs, next to a worker with nothing to recover.

Fills the SKU table's changelog with `--skus` real engine states (as `state_memory.py` builds
them, each SKU's made distinct: its own event fingerprints and decision ids, every number
jittered, so that compression sees what it would see in a real changelog), then times, from
process start to Faust's "Worker ready": a worker on empty topics (the baseline: start-up and
group join), a worker with an empty disk (restores the whole changelog in bulk,
`streaming/bulk_restore.py`), the same with Faust's own recovery (the bulk restore switched
off: the baseline of that figure), and, bracketing it, the bulk restore again on another empty
disk; then the worker restarted with its local RocksDB intact (reads only the changelog's
tail), restarted after a crash (SIGKILL: the dead worker holds its group membership until its
session times out), and a second worker taking over a SIGKILLed one's partitions.

    .ci/venv python benchmarks/recovery.py --skus 1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from harness import fresh_settings, run_topics_deleted
from kafka import KafkaAdminClient, KafkaProducer
from state_memory import mature_sku, sku_records
from tqdm import tqdm

from realtime_mkt.catalogue import topic
from realtime_mkt.demo import ensure_broker
from realtime_mkt.events import format_time
from realtime_mkt.ops.lag import wait_for_members, wait_until_consumed
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import start_worker, stop_worker

READY = "Worker ready"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def distinct(value: object, rng: random.Random) -> object:
    """A copy of a JSON value with what differs between SKUs redrawn: fingerprints (large ints)
    and decision ids (UUIDs) at random, every float jittered by up to 0.1 % (which also gives
    rounded prices full precision: if anything, harder to compress than real states)."""
    if isinstance(value, dict):
        return {key: distinct(item, rng) for key, item in value.items()}
    if isinstance(value, list):
        return [distinct(item, rng) for item in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value * (1 + rng.uniform(-1e-3, 1e-3))
    if isinstance(value, int) and value > 2**40:
        return rng.getrandbits(56)
    if isinstance(value, str) and UUID.match(value):
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return value


def fill_changelog(settings: Settings, n: int) -> int:
    """Write `n` distinct SKU states and decision logs to the SKU table's changelog as the worker
    would; bytes written (JSON, before any compression)."""
    state, decided = mature_sku()
    rng = random.Random(7)
    changelog = topic("sku-state-changelog").full_name(settings)
    partitions = topic("sku-state-changelog").partitions
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=20, batch_size=1_048_576
    )
    written = 0
    for i in tqdm(range(n), desc="changelog", unit="key", mininterval=2):
        sku_state, sku_decided = distinct(state, rng), distinct(decided, rng)
        for key, value in sku_records(f"sku-{i:07d}", sku_state, sku_decided):
            encoded = json.dumps(key).encode(), json.dumps(value, separators=(",", ":")).encode()
            producer.send(changelog, key=encoded[0], value=encoded[1], partition=i % partitions)
            written += len(encoded[0]) + len(encoded[1])
    producer.flush()
    producer.close()
    return written


def stored_bytes(settings: Settings, name: str) -> int:
    """Bytes the broker holds on disk for topic `name` (all partitions)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        return sum(
            partition["partition_size"]
            for broker in admin.describe_log_dirs([name])
            for log_dir in broker["log_dirs"]
            for listed in log_dir["topics"]
            if listed["name"] == name
            for partition in listed["partitions"]
        )
    finally:
        admin.close()


def started_until_ready(settings: Settings) -> tuple[subprocess.Popen, float]:
    """Start a worker and wait until it reports ready; the worker and the seconds it took."""
    log = settings.data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
    started = time.perf_counter()
    worker = start_worker(settings, log)
    while READY not in (log.read_text() if log.exists() else ""):
        if worker.poll() is not None:
            raise RuntimeError(f"the worker stopped: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    return worker, time.perf_counter() - started


def time_to_ready(settings: Settings) -> float:
    """Seconds from starting a worker until it reports ready; the worker is stopped after."""
    worker, elapsed = started_until_ready(settings)
    try:
        wait_for_members(settings, 1, 60, lambda: worker.poll() is None)
        return elapsed
    finally:
        stop_worker(worker, timeout=120)


def time_to_ready_after_crash(settings: Settings) -> float:
    """Seconds from restarting a worker that was SIGKILLed (local state intact) until it is ready:
    the dead worker stays a group member until its session times out."""
    crashed, _ = started_until_ready(settings)
    crashed.kill()
    crashed.wait()
    return time_to_ready(settings)


def send_probes(settings: Settings, round_: int) -> None:
    """One stock snapshot on every `inventory` partition, each for a SKU whose state the filled
    changelog holds on that partition."""
    name = topic("inventory").full_name(settings)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    for partition in range(topic("inventory").partitions):
        sku = f"sku-{partition:07d}"
        value = {
            "event_id": f"probe-{round_}-{partition}",
            "occurred_at": format_time(time.time()),
            "sku_id": sku,
            "kind": "snapshot",
            "quantity": 100,
        }
        producer.send(name, key=sku.encode(), value=json.dumps(value).encode(), partition=partition)
    producer.flush()
    producer.close()


def failover_seconds(settings: Settings, standby_catch_up: float) -> float:
    """Two workers in one group; one is SIGKILLed: seconds until the survivor has processed and
    committed an event on every partition, the dead worker's included.

    The first worker starts on `settings`' disk, whose state the runs before left intact, and
    commits an event on every partition before the second joins (Faust 0.15 can leave
    partitions handed over before their first commit idle, see README); the second, on a disk of
    its own, gets `standby_catch_up` seconds to fill its standby copies of the first's tables
    (its consumer writes them as the changelog arrives, `streaming/standby.py`: the bulk
    restore is for active partitions).
    """
    first, _ = started_until_ready(settings)
    survivor = None
    try:
        send_probes(settings, 0)
        wait_until_consumed(settings, ["inventory"], 120, lambda: first.poll() is None)
        survivor, _ = started_until_ready(
            dataclasses.replace(settings, data_dir=settings.data_dir / "survivor")
        )
        wait_for_members(settings, 2, 120, lambda: survivor.poll() is None)
        time.sleep(standby_catch_up)
        first.kill()
        first.wait()
        crashed = time.perf_counter()
        send_probes(settings, 1)
        wait_until_consumed(settings, ["inventory"], 300, lambda: survivor.poll() is None)
        return time.perf_counter() - crashed
    finally:
        stop_worker(first)
        if survivor is not None:
            stop_worker(survivor, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1_000_000)
    args = parser.parse_args()
    base = Settings.from_env()
    ensure_broker(base)
    root = Path(tempfile.mkdtemp(prefix="bench-recovery-"))

    try:
        with run_topics_deleted(base.bootstrap_servers):
            empty = fresh_settings(base, root)
            create_topics(empty)
            baseline = time_to_ready(empty)
            full = fresh_settings(base, root)
            create_topics(full)
            size = fill_changelog(full, args.skus)
            stored = stored_bytes(full, topic("sku-state-changelog").full_name(full))
            from_scratch = time_to_ready(full)
            by_faust = time_to_ready(
                dataclasses.replace(
                    full, data_dir=root / "faust-recovery", bulk_restore_min_records=2**62
                )
            )
            bulk_again = time_to_ready(dataclasses.replace(full, data_dir=root / "bulk-again"))
            restarted = time_to_ready(full)
            after_crash = time_to_ready_after_crash(full)
            failover = failover_seconds(full, by_faust)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"changelog: {args.skus:,} SKU states and decision logs, {size / 2**20:,.0f} MiB of JSON")
    print(f"on the broker's disk: {stored / 2**20:,.0f} MiB (zstd)")
    print(f"start to ready, nothing to recover:             {baseline:7.1f} s")
    print(f"start to ready, empty disk, bulk restore:       {from_scratch:7.1f} s")
    print(f"  the same, Faust's own recovery:               {by_faust:7.1f} s")
    print(f"  the same, bulk restore again:                 {bulk_again:7.1f} s")
    print(f"start to ready, local state intact (restart):   {restarted:7.1f} s")
    print(f"start to ready after a crash (SIGKILL), intact: {after_crash:7.1f} s")
    print(f"two workers, one SIGKILLed: survivor has all:   {failover:7.1f} s")


if __name__ == "__main__":
    main()
