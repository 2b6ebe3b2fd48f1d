"""Quix Streams counting every record and forwarding 5 %: the benchmark's second framework baseline.

BENCH_SOURCE=... BENCH_SINK=... BENCH_GROUP=... python benchmarks/quix_passthrough.py
"""

from __future__ import annotations

import os

from quixstreams import Application
from stopwatch import Stopwatch


def main() -> None:
    app = Application(
        broker_address=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        consumer_group=os.environ["BENCH_GROUP"],
        auto_offset_reset="earliest",
        auto_create_topics=False,
        state_dir=os.environ.get("BENCH_DATADIR", "/tmp/quix-passthrough"),
    )
    source = app.topic(
        os.environ["BENCH_SOURCE"], key_deserializer="bytes", value_deserializer="bytes"
    )
    sink = app.topic(os.environ["BENCH_SINK"], key_serializer="bytes", value_serializer="bytes")
    stopwatch = Stopwatch()

    def count_and_pick(_: bytes) -> bool:
        stopwatch.count()
        return stopwatch.seen % 20 == 0

    app.dataframe(source).filter(count_and_pick).to_topic(sink)
    app.run()


if __name__ == "__main__":
    main()
