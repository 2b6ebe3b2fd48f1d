"""What the benchmarks share: simulated orders, a fast producer and running workers on fresh topics."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from realtime_mkt.catalogue import load_catalogue, topic
from realtime_mkt.ops.lag import wait_for_members, wait_until_consumed
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.settings import Settings
from realtime_mkt.sim.market import SCENARIOS, Market
from realtime_mkt.worker_process import start_worker, stop_worker

Event = tuple[str, bytes, bytes]  # logical topic, key, value
RUN = f"bench-{uuid.uuid4().hex[:6]}"  # every topic and group of this run starts with it
MIX = frozenset({"clicks", "orders", "price-changes"})  # the topics of the market's input events


def fresh_settings(base: Settings, root: Path) -> Settings:
    """Settings on `base`'s broker with a unique topic prefix and a state folder under `root`."""
    prefix = f"{RUN}-{uuid.uuid4().hex[:4]}."
    return Settings(base.bootstrap_servers, prefix, root / prefix, 6098, False)


@contextmanager
def run_topics_deleted(bootstrap: str) -> Iterator[None]:
    """Delete every topic this run created when the block ends, however it ends: throwaway
    partitions left on the broker would slow every later start of it."""
    try:
        yield
    finally:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            names = [name for name in admin.list_topics() if name.startswith(RUN)]
            if names:
                admin.delete_topics(names, timeout_ms=60_000)
        finally:
            admin.close()


def build_events(
    n: int, n_skus: int = 100, only: frozenset[str] | None = None
) -> tuple[list[Event], list[tuple[str, dict]]]:
    """The first `n` input events of the steady market (those of the topics in `only`, if
    given), keyed as the platform keys them, and its catalog and opening stock.

    Nobody acts on restock requests here, so the market's shelves are refilled each night
    (without receipts: the worker sees stock run down and keeps deciding) and orders never dry up.
    """
    market = Market(SCENARIOS["steady"], seed=1, n_skus=n_skus, n_users=5000)
    master = market.catalog_events(0)
    opening = dict(market.on_hand)
    keys = {name: spec.key for name, spec in load_catalogue().items()}
    events: list[Event] = []
    day = 0
    while len(events) < n:
        events.extend(
            (name, value[keys[name]].encode(), json.dumps(value).encode())
            for name, value in market.day_events(day)
            if only is None or name in only
        )
        market.on_hand.update(opening)
        day += 1
    return events[:n], master


def consumed_topics(events: list[Event]) -> list[str]:
    """The topics the worker consumes for `events`: theirs, and those it passes them on to."""
    return sorted({name for name, _, _ in events} | {"order-lines", "sku-signals"})


def topic_ends(settings: Settings, name: str, consumer: KafkaConsumer) -> dict[TopicPartition, int]:
    """Each partition of logical topic `name` and its end offset (the records it has held)."""
    spec = topic(name)
    partitions = [TopicPartition(spec.full_name(settings), p) for p in range(spec.partitions)]
    return consumer.end_offsets(partitions)


def send_all(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> float:
    """Send (Kafka topic, key, value) records as fast as the producer goes; the time it began."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=262_144)
    started = time.perf_counter()
    for name, key, value in records:
        producer.send(name, key=key, value=value)
    producer.flush()
    producer.close()
    return started


def send_events(settings: Settings, events: Sequence[Event]) -> float:
    """Send (logical topic, key, value) events to `settings`' topics (`send_all`); the time it
    began."""
    return send_all(
        settings.bootstrap_servers, [(topic(n).full_name(settings), k, v) for n, k, v in events]
    )


class Workers:
    """Worker processes; calling it tells whether every one still runs."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def __call__(self) -> bool:
        return all(w.poll() is None for w in self.processes)

    def cpu_seconds(self) -> float:
        """The CPU time (user and system) the workers have used so far, from /proc: a figure
        that a shared machine's other load moves less than a wall-clock rate."""
        total = 0.0
        for worker in self.processes:
            fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@contextmanager
def running_workers(
    settings: Settings,
    master: list[tuple[str, dict]],
    processes: int = 1,
    backlog: Sequence[Event] = (),
    later: Sequence[Event] = (),
) -> Iterator[Workers]:
    """Fresh topics holding the catalog and opening stock (and `backlog`, which the first worker
    then meets at its start), and `processes` workers in one group that have all joined and
    consumed the catalog and stock; yields them (a check that every one still runs).

    With `later`, the group first consumes everything, stops, finds `later` waiting when its
    workers start again together, and is yielded as they start: every worker meets its share
    of a backlog at once, as after a deployment. Worker n serves its web on port
    `settings.web_port + n`.
    """
    create_topics(settings)
    opening = [
        (name, value["sku_id"].encode(), json.dumps(value).encode()) for name, value in master
    ]
    send_events(settings, [*opening, *backlog])  # each partition's opening records first
    alive = Workers()
    own = [
        dataclasses.replace(
            settings, data_dir=settings.data_dir / f"worker-{n}", web_port=settings.web_port + n
        )
        for n in range(processes)
    ]

    def start(n: int) -> None:
        alive.processes.append(start_worker(own[n], own[n].data_dir / "worker.log"))

    try:
        # The others join a running group, as when scaling out: on a fresh group, Faust 0.15 can
        # leave a worker idle on partitions handed over before their first commit (seen here;
        # faust-streaming issues #166 and #629 describe the symptom)
        start(0)
        wait_until_consumed(settings, ["catalog", "inventory"], 120, alive)
        for n in range(1, processes):
            start(n)
        wait_for_members(settings, processes, 120, alive)
        if later:
            wait_until_consumed(settings, consumed_topics(backlog), 300, alive)
            for worker in alive.processes:
                stop_worker(worker)
            send_events(settings, later)
            alive.processes.clear()
            for n in range(processes):
                start(n)
        yield alive
    finally:
        for worker in alive.processes:
            stop_worker(worker)
