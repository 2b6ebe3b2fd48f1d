"""End-to-end throughput of the worker next to three baselines, all in the same run on the same broker.

All four read the same pre-built order events (one line each, over 100 SKUs, about 8 days of the simulator's
steady market):

- raw aiokafka: consume, decode JSON, produce each order's lines keyed by SKU;
- Quix Streams and a default Faust agent: count every record, forward 5 %;
- the worker, every model and decision on: validates, splits orders into lines (applied in
  place where this worker holds the SKU's partition, sent through `order-lines` otherwise),
  updates per-SKU state (RocksDB + changelog) and the models, and emits its decisions.

The worker also runs on the market's whole event mix, as many events: clicks and impressions
(three in four: they teach the CTR and preference models and pass clicks on to their SKU),
orders and price changes.

Baselines are timed from their first record to their last over a pre-loaded topic (their own
rate). The worker is timed end to end: from the first produced event until its group has
committed every event and every record it passed on (order lines, click signals), so its figure
includes up to one commit interval, and it can go no faster than this script's producer, which
shares the two cores with it and the broker. So the worker is also timed as the baselines are,
over a pre-loaded backlog of the whole mix: from the first input event it counts to the last
(its /metrics), and to its group's commit of everything (a commit comes every 2.8 s). Each
worker row also gives the workers' CPU time per event, which the machine's other load moves less
than a rate (compare versions on it).

Scale-out: one group of one worker, then of two, consumes the first events of the mix, stops,
and starts again together on the rest waiting in its topics; each counts the mix's events per
second while every worker of the group counts (a worker that joins seconds after the other, as
happens, would otherwise count its start against the group). Timed end to end instead, two
workers shared the two cores with this script's producer as well as the broker, and measured
the producer.

    .ci/venv python benchmarks/throughput.py --orders 20000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

from harness import (
    MIX,
    RUN,
    Event,
    build_events,
    consumed_topics,
    fresh_settings,
    run_topics_deleted,
    running_workers,
    send_all,
    send_events,
)
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from realtime_mkt.demo import ensure_broker
from realtime_mkt.engine import SIGNAL_ACTIONS
from realtime_mkt.ops.lag import wait_until_consumed
from realtime_mkt.settings import Settings

WARM_UP = 2000  # events a restarted group consumed before it stopped


def bench_topics(bootstrap: str, label: str) -> tuple[str, str]:
    """A fresh source and sink topic of 4 partitions each."""
    run = uuid.uuid4().hex[:6]
    source, sink = f"{RUN}-{label}-{run}", f"{RUN}-{label}-out-{run}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(source, 4, 1), NewTopic(sink, 4, 1)])
    admin.close()
    return source, sink


def bench_baseline(
    bootstrap: str, orders: list[tuple[bytes, bytes]], script: str, *args: str
) -> float:
    """A baseline script's consume rate over a pre-loaded source topic (see `stopwatch.py`)."""
    label = Path(script).stem.split("_")[0]
    source, sink = bench_topics(bootstrap, label)
    send_all(bootstrap, [(source, key, value) for key, value in orders])
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    result = scratch / "elapsed"
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "BENCH_SOURCE": source,
        "BENCH_SINK": sink,
        "BENCH_GROUP": f"{RUN}-{label}-{uuid.uuid4().hex[:6]}",
        "BENCH_DATADIR": str(scratch / "state"),
        "BENCH_EXPECTED": str(len(orders)),
        "BENCH_RESULT": str(result),
    }
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / script), *args],
        env=env,
        stdout=(scratch / "log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 600
        while not result.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{script} stopped early: {(scratch / 'log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
        time.sleep(0.1)  # the file is written in one call; let it land
        return len(orders) / float(result.read_text())
    finally:
        process.terminate()
        process.wait(30)
        shutil.rmtree(scratch, ignore_errors=True)


def bench_worker(
    settings: Settings,
    events: list[Event],
    master: list[tuple[str, dict]],
) -> tuple[float, float]:
    """Events per second from the first one produced until the worker has committed all of
    them and the records it passed on (order lines, click signals), and its CPU time per event
    (µs)."""
    with running_workers(settings, master) as workers:
        cpu_before = workers.cpu_seconds()
        started = send_events(settings, events)
        wait_until_consumed(settings, consumed_topics(events), 900, workers)
        rate = len(events) / (time.perf_counter() - started)
        return rate, (workers.cpu_seconds() - cpu_before) / len(events) * 1e6


class EventCounts(threading.Thread):
    """Watches the workers' /metrics (every 20 ms): `first` is when they had counted their first
    input record, `last` when their count last grew (perf_counter); `series` holds each
    worker's count of input events (those of the mix's own topics) whenever it grew; `late`
    each worker's counts of late sales and late click signals (counted in a later day than
    their own)."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__(daemon=True)
        self.urls = [f"http://127.0.0.1:{port}/metrics" for port in ports]
        self.first: float | None = None
        self.last: float | None = None
        self.series: list[list[tuple[float, float]]] = [[] for _ in ports]
        self.late = [(0.0, 0.0) for _ in ports]
        self.stopped = threading.Event()
        self.start()

    def run(self) -> None:
        seen = 0.0
        while not self.stopped.wait(0.02):
            count = 0.0
            for n, (url, series) in enumerate(zip(self.urls, self.series, strict=True)):
                records, inputs, late = self._counts(url)
                count += records
                self.late[n] = (max(self.late[n][0], late[0]), max(self.late[n][1], late[1]))
                if inputs > (series[-1][1] if series else 0.0):
                    series.append((time.perf_counter(), inputs))
            if count > seen:
                self.last = time.perf_counter()
                self.first = self.first or self.last
                seen = count

    def rate_while_all_count(self) -> float | None:
        """Input events per second over the time every worker was counting: from the last of
        their first counts to the first of their last (a worker that starts late, or runs out of
        input early, does not count against the group); None if there was no such time (a
        worker joined the group after the others had done the backlog)."""
        if not all(self.series):
            return None
        start = max(series[0][0] for series in self.series)
        end = min(series[-1][0] for series in self.series)
        if end <= start:
            return None

        def at(series: list[tuple[float, float]], moment: float) -> float:
            return max(count for t, count in series if t <= moment)

        return sum(at(s, end) - at(s, start) for s in self.series) / (end - start)

    @staticmethod
    def _counts(url: str) -> tuple[float, float, tuple[float, float]]:
        """A worker's count of records read from every input topic, from the mix's, and of
        late sales and click signals."""
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                text = response.read().decode()
        except OSError:  # not listening yet
            return 0.0, 0.0, (0.0, 0.0)
        records = inputs = sales = clicks = 0.0
        for line in text.splitlines():
            if line.startswith("realtime_mkt_events_total{"):
                count = float(line.split()[-1])
                records += count
                if any(f'topic="{name}"' in line for name in MIX):
                    inputs += count
            elif line.startswith("realtime_mkt_late_sales_total "):
                sales = float(line.split()[-1])
            elif line.startswith("realtime_mkt_late_click_signals_total "):
                clicks = float(line.split()[-1])
        return records, inputs, (sales, clicks)


def bench_worker_backlog(
    settings: Settings, events: list[Event], master: list[tuple[str, dict]]
) -> tuple[float, float, float, tuple[float, float]]:
    """One worker that starts on a pre-loaded backlog of `events`: events per second from the
    first event it counts to the last (its own rate, as the baselines are timed), and until its
    group has committed them all and the records it passed on; its CPU time per event (µs,
    including its start); its late sales and click signals."""
    settings = dataclasses.replace(settings, web_enabled=True)
    counts = EventCounts([settings.web_port])
    try:
        with running_workers(settings, master, 1, backlog=events) as workers:
            wait_until_consumed(settings, consumed_topics(events), 900, workers)
            done = time.perf_counter()
            cpu = workers.cpu_seconds() / len(events) * 1e6
    finally:
        counts.stopped.set()
    assert counts.first is not None and counts.last is not None, "the worker counted no event"
    counted = len(events) / (counts.last - counts.first)
    return counted, len(events) / (done - counts.first), cpu, counts.late[0]


def bench_group_restarted(
    settings: Settings, events: list[Event], master: list[tuple[str, dict]], processes: int
) -> tuple[float | None, tuple[float, float]]:
    """`processes` workers in one group, restarted together on a backlog of `events` (all but
    the first WARM_UP, which the group consumed before it stopped): input events per second
    while every worker counts (`EventCounts.rate_while_all_count`). No producer runs meanwhile,
    so each worker may have a core (the broker takes the rest). Also the group's late sales and
    click signals."""
    settings = dataclasses.replace(settings, web_enabled=True)
    warm, rest = events[:WARM_UP], events[WARM_UP:]
    with running_workers(settings, master, processes, backlog=warm, later=rest) as workers:
        counts = EventCounts([settings.web_port + n for n in range(processes)])
        try:
            wait_until_consumed(settings, consumed_topics(events), 900, workers)
        finally:
            counts.stopped.set()
    sales, clicks = zip(*counts.late, strict=True)
    return counts.rate_while_all_count(), (sum(sales), sum(clicks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    args = parser.parse_args()
    base = Settings.from_env()
    ensure_broker(base)
    orders, master = build_events(args.orders, only=frozenset({"orders"}))
    mix, _ = build_events(args.orders)
    data = Path(tempfile.mkdtemp(prefix="bench-"))
    plain = [(key, value) for _, key, value in orders]

    try:
        with run_topics_deleted(base.bootstrap_servers):
            raw = bench_baseline(base.bootstrap_servers, plain, "raw_passthrough.py")
            quix = bench_baseline(base.bootstrap_servers, plain, "quix_passthrough.py")
            bare = bench_baseline(base.bootstrap_servers, plain, "faust_passthrough.py", "worker")
            ours = bench_worker(fresh_settings(base, data), orders, master)
            mixed = bench_worker(fresh_settings(base, data), mix, master)
            backlog = bench_worker_backlog(fresh_settings(base, data), mix, master)
            (one, one_late), (two, two_late) = (
                bench_group_restarted(fresh_settings(base, data), mix, master, n) for n in (1, 2)
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(
        f"orders: {len(orders):,} (one line each, 100 SKUs of the steady market), 4 partitions, one process each"
    )
    for label, rate in [
        ("raw aiokafka consume-decode-produce loop", raw),
        ("Quix Streams, count and forward 5 %", quix),
        ("default Faust agent, count and forward 5 %", bare),
    ]:
        print(f"{label + ':':<44}{rate:>9,.0f} events/s  ({rate / raw:.2f}x raw)")
    shares = Counter(name for name, _, _ in mix)
    for label, (rate, cpu), against in [
        ("realtime-mkt worker end to end", ours, f"{ours[0] / raw:.2f}x raw"),
        (
            "realtime-mkt worker, the whole event mix",
            mixed,
            ", ".join(f"{name} {n / len(mix):.0%}" for name, n in shares.most_common()),
        ),
    ]:
        print(
            f"{label + ':':<44}{rate:>9,.0f} events/s  ({against}; worker CPU {cpu:,.0f} µs/event)"
        )
    counted, committed, cpu, backlog_late = backlog
    print(
        f"{'realtime-mkt worker, the mix pre-loaded:':<44}{counted:>9,.0f} events/s  (first to"
        f" last event counted, {counted / bare:.2f}x Faust; {committed:,.0f} to its last commit;"
        f" worker CPU {cpu:,.0f} µs/event)"
    )
    scale = f"{two / one:.2f}x one worker; " if one and two else ""
    print(
        f"{'the mix waiting, one worker restarted:':<44}{restarted(one, 'first to last input event counted')}"
    )
    print(
        f"{'the mix waiting, two workers restarted:':<44}{restarted(two, scale + 'while both count')}"
    )
    lines = sum(len(json.loads(value)["lines"]) for name, _, value in mix if name == "orders")
    signals = sum(
        name == "clicks" and json.loads(value)["action"] in SIGNAL_ACTIONS for name, _, value in mix
    )
    for n, (what, of) in enumerate([("sales (order lines ", lines), ("click signals (", signals)]):
        print(
            f"late {what}counted in a later day than their own), of {of:,}:"
            + "".join(
                f" {label} {late[n]:,.0f} ({late[n] / of:.0%});"
                for label, late in [
                    ("pre-loaded", backlog_late),
                    ("one restarted", one_late),
                    ("two restarted", two_late),
                ]
            ).rstrip(";")
        )


def restarted(rate: float | None, how: str) -> str:
    """A restarted group's rate as printed, or why there is none."""
    if rate is None:
        return "      n/a  (a worker joined once the others had done the backlog: more --orders)"
    return f"{rate:>9,.0f} events/s  ({how})"


if __name__ == "__main__":
    main()
