"""A default Faust agent that only counts and forwards 5 % of its input: the benchmark's Faust baseline.

BENCH_SOURCE=... BENCH_SINK=... BENCH_GROUP=... python benchmarks/faust_passthrough.py worker
"""

from __future__ import annotations

import os

import faust
from stopwatch import Stopwatch

app = faust.App(
    os.environ["BENCH_GROUP"],
    broker=f"kafka://{os.environ.get('KAFKA_BOOTSTRAP_SERVERS', '127.0.0.1:9092')}",
    store="memory://",
    datadir=os.environ.get("BENCH_DATADIR", "/tmp/faust-passthrough"),
    web_enabled=False,
    topic_allow_declare=False,
    consumer_auto_offset_reset="earliest",
)
source = app.topic(
    os.environ["BENCH_SOURCE"], key_type=bytes, value_type=bytes, value_serializer="raw"
)
sink = app.topic(os.environ["BENCH_SINK"], key_type=bytes, value_type=bytes, value_serializer="raw")


@app.agent(source)
async def count_and_forward(stream: faust.StreamT) -> None:
    """Count every record; forward one in twenty."""
    stopwatch = Stopwatch()
    async for key, value in stream.items():
        stopwatch.count()
        if stopwatch.seen % 20 == 0:
            await sink.send(key=key, value=value)


if __name__ == "__main__":
    app.main()
