"""End-to-end throughput of the worker next to a raw aiokafka consume-decode-produce loop.

Both run on the same broker in the same run, on the same pre-built order events (one line each,
spread over 1,000 SKUs of the simulator's steady market, with catalog and stock): the worker validates, splits orders into
`order-lines`, updates per-SKU state (RocksDB + changelog) and emits restock requests; the raw loop
only consumes, decodes JSON and produces one record per order. Events/s = orders / elapsed, where
elapsed runs from the first produced order until everything is consumed (the worker's is measured
on committed offsets, so its figure includes up to one commit interval).

    .ci/venv python benchmarks/throughput.py --orders 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from realtime_mkt.catalogue import topic
from realtime_mkt.demo import ensure_broker
from realtime_mkt.engine import order_lines
from realtime_mkt.ops.lag import wait_until_consumed
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.settings import Settings
from realtime_mkt.sim.market import SCENARIOS, Market
from realtime_mkt.worker_process import start_worker, stop_worker


def build_orders(n: int) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, dict]]]:
    market = Market(SCENARIOS["steady"], seed=1, n_skus=1000, n_users=5000)
    master = market.catalog_events(0)
    orders: list[tuple[bytes, bytes]] = []
    day = 0
    while len(orders) < n:
        orders.extend(
            (value["order_id"].encode(), json.dumps(value).encode())
            for name, value in market.day_events(day)
            if name == "orders"
        )
        day += 1
    return orders[:n], master


def send_all(bootstrap: str, name: str, records: list[tuple[bytes, bytes]]) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=262_144)
    started = time.perf_counter()
    for key, value in records:
        producer.send(name, key=key, value=value)
    producer.flush()
    producer.close()
    return started


async def raw_loop(
    bootstrap: str, source: str, sink: str, expected: int, ready: asyncio.Event
) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    await consumer.start()
    await producer.start()
    ready.set()
    seen = 0
    try:
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for record in records:
                    for line in order_lines(json.loads(record.value)):
                        await producer.send(
                            sink, key=line["sku_id"].encode(), value=json.dumps(line).encode()
                        )
                    seen += 1
        await producer.flush()
    finally:
        await consumer.stop()
        await producer.stop()


def bench_raw(bootstrap: str, orders: list[tuple[bytes, bytes]]) -> float:
    source, sink = f"bench-raw-{uuid.uuid4().hex[:6]}", f"bench-raw-out-{uuid.uuid4().hex[:6]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(source, 4, 1), NewTopic(sink, 4, 1)])
    admin.close()

    async def run() -> float:
        ready = asyncio.Event()
        task = asyncio.create_task(raw_loop(bootstrap, source, sink, len(orders), ready))
        await ready.wait()
        await asyncio.sleep(3)  # group join
        started = await asyncio.to_thread(send_all, bootstrap, source, orders)
        await task
        return time.perf_counter() - started

    return len(orders) / asyncio.run(run())


def bench_worker(
    settings: Settings, orders: list[tuple[bytes, bytes]], master: list[tuple[str, dict]]
) -> float:
    create_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    for name, value in master:
        producer.send(
            topic(name).full_name(settings),
            key=value["sku_id"].encode(),
            value=json.dumps(value).encode(),
        )
    producer.flush()
    producer.close()
    worker = start_worker(settings, settings.data_dir / "worker.log")
    try:
        wait_until_consumed(settings, ["catalog", "inventory"], 120, lambda: worker.poll() is None)
        started = send_all(settings.bootstrap_servers, topic("orders").full_name(settings), orders)
        wait_until_consumed(settings, ["orders", "order-lines"], 900, lambda: worker.poll() is None)
        return len(orders) / (time.perf_counter() - started)
    finally:
        stop_worker(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    args = parser.parse_args()
    base = Settings.from_env()
    ensure_broker(base)
    orders, master = build_orders(args.orders)
    data = Path(tempfile.mkdtemp(prefix="bench-"))
    settings = Settings(base.bootstrap_servers, f"bench-{uuid.uuid4().hex[:8]}.", data, 6098, False)
    try:
        raw = bench_raw(base.bootstrap_servers, orders)
        ours = bench_worker(settings, orders, master)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"orders: {len(orders)} (one line each, 1,000 SKUs), 4 partitions, one process each")
    print(f"raw aiokafka consume-decode-produce loop: {raw:>9,.0f} events/s")
    print(
        f"realtime-mkt worker end to end:           {ours:>9,.0f} events/s  ({ours / raw:.2f}x raw)"
    )


if __name__ == "__main__":
    main()
