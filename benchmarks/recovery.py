"""Recovery time of a restarted worker holding many SKUs, next to a worker with nothing to recover.

Fills the SKU table's changelog with `--skus` real engine states (as `state_memory.py` builds
them), then times, from process start to Faust's "Worker ready": a worker on empty topics (the
baseline: start-up and group join), a worker with an empty disk (restores the whole changelog),
the same worker restarted with its local RocksDB intact (reads only the changelog's tail), and
restarted after a crash (SIGKILL: the dead worker holds its group membership until its session
times out).

    .ci/venv python benchmarks/recovery.py --skus 1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from harness import fresh_settings, run_topics_deleted, wait_for_members
from kafka import KafkaProducer
from state_memory import mature_sku, sku_records
from tqdm import tqdm

from realtime_mkt.catalogue import topic
from realtime_mkt.demo import ensure_broker
from realtime_mkt.events import format_time
from realtime_mkt.ops.lag import wait_until_consumed
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import start_worker, stop_worker

READY = "Worker ready"


def fill_changelog(settings: Settings, n: int) -> int:
    """Write `n` SKU states and decision logs to the SKU table's changelog as the worker would;
    bytes written."""
    state, decided = mature_sku()
    changelog = topic("sku-state-changelog").full_name(settings)
    partitions = topic("sku-state-changelog").partitions
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=20, batch_size=1_048_576
    )
    written = 0
    for i in tqdm(range(n), desc="changelog", unit="key", mininterval=2):
        for key, value in sku_records(f"sku-{i:07d}", state, decided):
            encoded = json.dumps(key).encode(), json.dumps(value, separators=(",", ":")).encode()
            producer.send(changelog, key=encoded[0], value=encoded[1], partition=i % partitions)
            written += len(encoded[0]) + len(encoded[1])
    producer.flush()
    producer.close()
    return written


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
    its own, gets `standby_catch_up` seconds to fill its standby copies of the first's tables.
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
            from_scratch = time_to_ready(full)
            restarted = time_to_ready(full)
            after_crash = time_to_ready_after_crash(full)
            failover = failover_seconds(full, from_scratch)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"changelog: {args.skus:,} SKU states and decision logs, {size / 2**20:,.0f} MiB")
    print(f"start to ready, nothing to recover:            {baseline:7.1f} s")
    print(f"start to ready, empty disk (whole changelog):  {from_scratch:7.1f} s")
    print(f"start to ready, local state intact (restart):  {restarted:7.1f} s")
    print(f"start to ready after a crash (SIGKILL), intact: {after_crash:7.1f} s")
    print(f"two workers, one SIGKILLed: survivor has all:   {failover:7.1f} s")


if __name__ == "__main__":
    main()
