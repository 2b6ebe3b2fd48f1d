"""A raw aiokafka consume-decode-produce loop: the benchmark's upper bound for a Python consumer.

Decodes each order and produces its lines keyed by SKU (the worker's repartition), nothing more.

    BENCH_SOURCE=... BENCH_SINK=... BENCH_GROUP=... python benchmarks/raw_passthrough.py
"""

from __future__ import annotations

import asyncio
import json
import os

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from stopwatch import Stopwatch

from realtime_mkt.engine import order_lines


async def main() -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    consumer = AIOKafkaConsumer(
        os.environ["BENCH_SOURCE"],
        bootstrap_servers=bootstrap,
        group_id=os.environ["BENCH_GROUP"],
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    sink = os.environ["BENCH_SINK"]
    stopwatch = Stopwatch()
    await consumer.start()
    await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for record in records:
                    for line in order_lines(json.loads(record.value)):
                        await producer.send(
                            sink, key=line["sku_id"].encode(), value=json.dumps(line).encode()
                        )
                    stopwatch.count()
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
