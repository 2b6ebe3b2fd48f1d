"""Latency from an order to the decisions it causes, at paced order rates, through the real broker.

For each rate a fresh worker first learns from four days of orders (sent at full speed and
drained, so decisions are due), then orders arrive at the given rate for `--seconds`. A
consumer in this process reads `restock-requests`, `price-adjustments` and `promo-adjustments`;
a decision's latency is the time it was received minus the time its triggering order was sent
(matched on `sku_id` and `occurred_at`; the earliest such order, so an upper bound).

    .ci/venv python benchmarks/latency.py --rates 250 500 1000 2000 --seconds 20
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
    Record,
    build_orders,
    fresh_settings,
    run_topics_deleted,
    running_workers,
    send_all,
)

from realtime_mkt.catalogue import topic
from realtime_mkt.demo import ensure_broker
from realtime_mkt.ops.lag import wait_until_consumed
from realtime_mkt.settings import Settings

DECISIONS = ("restock-requests", "price-adjustments", "promo-adjustments")
SKUS = 100  # about 2,400 orders per simulated day
WARM_UP_ORDERS = 4 * 2400


def trigger(order: bytes) -> tuple[str, str]:
    value = json.loads(order)
    return value["lines"][0]["sku_id"], value["occurred_at"]


async def paced_phase(
    settings: Settings, orders: list[Record], rate: float, alive
) -> dict[str, list[float]]:
    """Send `orders` at `rate` per second; latencies in seconds of the decisions they cause, by topic."""
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
    orders_topic = topic("orders").full_name(settings)
    started = time.perf_counter()
    for i, (key, value) in enumerate(orders):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.setdefault(trigger(value), time.perf_counter())
        await producer.send(orders_topic, key=key, value=value)
    await producer.flush()
    await asyncio.to_thread(wait_until_consumed, settings, ["orders", "order-lines"], 900, alive)
    await asyncio.sleep(3)  # decisions flushed with the last commit are still on their way
    receiver.cancel()
    await producer.stop()
    await consumer.stop()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    base = Settings.from_env()
    ensure_broker(base)
    most = WARM_UP_ORDERS + int(max(args.rates) * args.seconds)
    orders, master = build_orders(most, n_skus=SKUS)
    data = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    print(
        f"{SKUS} SKUs; after {WARM_UP_ORDERS} warm-up orders, orders at each rate for {args.seconds:g} s"
    )
    print("rate/s  decisions  p50 ms  p99 ms  max ms   (restock p99 ms, n)")
    try:
        with run_topics_deleted(base.bootstrap_servers):
            for rate in args.rates:
                paced = orders[WARM_UP_ORDERS : WARM_UP_ORDERS + int(rate * args.seconds)]
                latencies = bench_rate(fresh_settings(base, data), orders, paced, master, rate)
                print(summary(rate, latencies))
    finally:
        shutil.rmtree(data, ignore_errors=True)


def bench_rate(
    settings: Settings,
    orders: list[Record],
    paced: list[Record],
    master: list[tuple[str, dict]],
    rate: float,
) -> dict[str, list[float]]:
    """Decision latencies per output topic of one worker fed `paced` at `rate` after a warm-up."""
    with running_workers(settings, master) as alive:
        name = topic("orders").full_name(settings)
        send_all(settings.bootstrap_servers, [(name, k, v) for k, v in orders[:WARM_UP_ORDERS]])
        wait_until_consumed(settings, ["orders", "order-lines"], 300, alive)
        return asyncio.run(paced_phase(settings, paced, rate, alive))


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
