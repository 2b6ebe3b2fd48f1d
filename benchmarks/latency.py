"""Latency from an order to the decisions it causes, at paced event rates, through the real broker.

For each rate a fresh worker first learns from four days of the market (sent at full speed and
drained, so decisions are due), then events arrive at the given rate for `--seconds`: orders
only, or with `--mix` the market's whole input (clicks and impressions, orders, price changes,
in the market's proportions). A consumer in this process reads `restock-requests`,
`price-adjustments` and `promo-adjustments`; a decision's latency is the time it was received
minus the time its triggering order was sent (matched on `sku_id` and `occurred_at`; the
earliest such order, so an upper bound). Also how many progress records the worker wrote into
`order-lines` meanwhile (one worker sends no lines there: every record is its progress through
`orders`, `streaming/read_progress.py`).

    .ci/venv python benchmarks/latency.py --rates 250 500 1000 2000 --seconds 20 [--mix]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from harness import (
    MIX,
    Event,
    build_events,
    consumed_topics,
    fresh_settings,
    run_topics_deleted,
    running_workers,
    send_events,
    topic_ends,
)
from kafka import KafkaConsumer

from realtime_mkt.catalogue import topic
from realtime_mkt.demo import ensure_broker
from realtime_mkt.ops.lag import wait_until_consumed
from realtime_mkt.settings import Settings
from realtime_mkt.streaming.heap import freeze_survivors

DECISIONS = ("restock-requests", "price-adjustments", "promo-adjustments")
SKUS = 100  # about 2,400 orders per simulated day
WARM_UP_ORDERS = 4 * 2400


def trigger(order: bytes) -> tuple[str, str]:
    value = json.loads(order)
    return value["lines"][0]["sku_id"], value["occurred_at"]


async def paced_phase(
    settings: Settings, events: list[Event], rate: float, alive
) -> dict[str, list[float]]:
    """Send `events` at `rate` per second; latencies in seconds of the decisions their orders
    cause, by topic."""
    bootstrap = settings.bootstrap_servers
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=5)
    await consumer.start()
    partitions = [
        TopicPartition(topic(name).full_name(settings), p)
        for name in DECISIONS
        for p in range(topic(name).partitions)
    ]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    sent: dict[tuple[str, str], float] = {}
    latencies: dict[str, list[float]] = {name: [] for name in DECISIONS}
    logical = {topic(name).full_name(settings): name for name in DECISIONS}

    async def receive() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    value = json.loads(record.value)
                    at = sent.get((value["sku_id"], value["occurred_at"]))
                    if at is not None:
                        latencies[logical[record.topic]].append(now - at)

    receiver = asyncio.create_task(receive())
    names = {name: topic(name).full_name(settings) for name in MIX}
    started = time.perf_counter()
    for i, (name, key, value) in enumerate(events):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if name == "orders":
            sent.setdefault(trigger(value), time.perf_counter())
        await producer.send(names[name], key=key, value=value)
    await producer.flush()
    await asyncio.to_thread(wait_until_consumed, settings, consumed_topics(events), 900, alive)
    await asyncio.sleep(3)  # decisions flushed with the last commit are still on their way
    receiver.cancel()
    await producer.stop()
    await consumer.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--mix", action="store_true", help="the market's whole input, not its orders alone"
    )
    args = parser.parse_args()
    base = Settings.from_env()
    ensure_broker(base)
    only = MIX if args.mix else frozenset({"orders"})
    share = 0.2 if args.mix else 1.0  # orders are about a quarter of the mix: a fifth leaves room
    events, master = build_events(
        int(WARM_UP_ORDERS / share + max(args.rates) * args.seconds), SKUS, only
    )
    warm_up = warm_up_length(events)
    freeze_survivors()  # this process's own full collections would add their pauses to its figures
    data = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    what = "events of the whole mix" if args.mix else "orders"
    print(
        f"{SKUS} SKUs; after {warm_up} warm-up events ({WARM_UP_ORDERS} orders), "
        f"{what} at each rate for {args.seconds:g} s"
    )
    print("rate/s  decisions  p50 ms  p99 ms  max ms   (restock p99 ms, n)  progress records/s")
    try:
        with run_topics_deleted(base.bootstrap_servers):
            for rate in args.rates:
                paced = events[warm_up : warm_up + int(rate * args.seconds)]
                latencies, progress = bench_rate(
                    fresh_settings(base, data), events[:warm_up], paced, master, rate
                )
                print(f"{summary(rate, latencies)}  {progress / args.seconds:.1f}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def warm_up_length(events: list[Event]) -> int:
    """How many of `events` come up to and with the `WARM_UP_ORDERS`th order."""
    orders = 0
    for i, (name, _, _) in enumerate(events):
        orders += name == "orders"
        if orders == WARM_UP_ORDERS:
            return i + 1
    raise ValueError(f"fewer than {WARM_UP_ORDERS} orders")


def bench_rate(
    settings: Settings,
    warm_up: list[Event],
    paced: list[Event],
    master: list[tuple[str, dict]],
    rate: float,
) -> tuple[dict[str, list[float]], int]:
    """Decision latencies per output topic of one worker fed `paced` at `rate` after `warm_up`,
    and the records it wrote into `order-lines` meanwhile."""
    with running_workers(settings, master) as alive:
        send_events(settings, warm_up)
        wait_until_consumed(settings, consumed_topics(warm_up), 300, alive)
        before = records_in(settings, "order-lines")
        latencies = asyncio.run(paced_phase(settings, paced, rate, alive))
        return latencies, records_in(settings, "order-lines") - before


def records_in(settings: Settings, name: str) -> int:
    """How many records topic `name` has held (the sum of its partitions' end offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    try:
        return sum(topic_ends(settings, name, consumer).values())
    finally:
        consumer.close()


def summary(rate: float, latencies: dict[str, list[float]]) -> str:
    """One table row: decision count and latency percentiles in ms."""
    every = np.array([x for xs in latencies.values() for x in xs]) * 1000
    restock = np.array(latencies["restock-requests"]) * 1000
    if not len(every):
        return f"{rate:>6.0f}  no decisions"
    restock_p99 = f"{np.percentile(restock, 99):.0f}" if len(restock) else "-"
    return (
        f"{rate:>6.0f}  {len(every):>9}  {np.percentile(every, 50):>6.0f}  "
        f"{np.percentile(every, 99):>6.0f}  {every.max():>6.0f}   ({restock_p99}, {len(restock)})"
    )


if __name__ == "__main__":
    main()
