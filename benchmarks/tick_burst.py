"""Live orders during the daily re-evaluation of many SKUs: how long an order waits while the
worker ticks every SKU, with the ticks paced (the worker's default rate) against all at once.

For each tick rate a fresh worker holds `--skus` SKUs (catalog and opening stock) and a tracer
SKU. One order moves the worker's event-time clock to a new day, so its timer ticks every SKU;
meanwhile an order for the tracer goes out every 0.25 s, and its latency is the time until the
tracer's stock on `/sku/tracer` shows it. Prints those latencies (p50, p99, max) over the time
the ticks took to be consumed, and that time.

    .ci/venv python benchmarks/tick_burst.py --skus 30000 --rates 0 1000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from harness import fresh_settings, run_topics_deleted, running_workers, topic_ends
from kafka import KafkaConsumer, KafkaProducer

from realtime_mkt.catalogue import topic
from realtime_mkt.demo import ensure_broker
from realtime_mkt.events import format_time
from realtime_mkt.ops.lag import committed_offsets
from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import free_port

DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STOCK = 1_000_000
TRACER = "tracer"


def master_data(n: int) -> list[tuple[str, dict]]:
    """Catalog records and opening stock (at START) of `n` SKUs and the tracer."""
    records = []
    for sku in [TRACER, *(f"sku-{i:07d}" for i in range(n))]:
        records.append(
            ("catalog", {
                "sku_id": sku, "category": "toys", "unit_cost": 10.0, "list_price": 20.0,
                "min_price": 11.0, "max_price": 30.0, "lead_time_days": 2, "review_days": 1,
                "service_level": 0.95, "order_multiple": 1,
            })
        )  # fmt: skip
        records.append(
            ("inventory", {
                "event_id": f"open-{sku}", "occurred_at": format_time(START), "sku_id": sku,
                "kind": "snapshot", "quantity": STOCK,
            })
        )  # fmt: skip
    return records


def tracer_order(n: int, at: float) -> bytes:
    return json.dumps(
        {
            "event_id": f"trace-{n}",
            "occurred_at": format_time(at),
            "order_id": f"trace-{n}",
            "user_id": "tracer-user",
            "status": "placed",
            "lines": [{"sku_id": TRACER, "quantity": 1, "unit_price": 20.0}],
        }
    ).encode()


def tracer_on_hand(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/sku/{TRACER}", timeout=30) as response:
        return json.loads(response.read())["on_hand"]


def ticks_lag(settings: Settings, consumer: KafkaConsumer) -> tuple[int, int]:
    """The worker group's lag on `sku-ticks`, and the ticks sent so far."""
    ends = topic_ends(settings, "sku-ticks", consumer)
    committed = committed_offsets(settings.bootstrap_servers, settings.app_id)
    return sum(end - committed.get(tp, 0) for tp, end in ends.items()), sum(ends.values())


def settled_ticks(settings: Settings, consumer: KafkaConsumer, timeout: float = 600) -> int:
    """The ticks sent so far, once the worker has consumed them all and sent none for 3 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        lag, sent = ticks_lag(settings, consumer)
        if lag or sent != last:
            last, since = sent, time.monotonic()
        elif time.monotonic() - since > 3:
            return sent
        time.sleep(0.5)
    raise TimeoutError(f"the ticks did not settle within {timeout}s")


def measure(settings: Settings, n: int) -> tuple[list[float], float]:
    """Tracer latencies (s) while the new day's ticks are consumed, and how long that took."""
    consumer = KafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    before = settled_ticks(settings, consumer)  # the rounds of the opening stock's day
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
    orders = topic("orders").full_name(settings)
    sent: list[float] = []
    latencies: list[float] = []
    started = next_order = next_check = time.monotonic()
    finished: float | None = None
    while finished is None or time.monotonic() < finished + 2:
        now = time.monotonic()
        if finished is None and now >= next_order:
            at = START + DAY + len(sent)  # the next day: the first one moves the clock
            key = f"trace-{len(sent)}".encode()
            producer.send(orders, key=key, value=tracer_order(len(sent), at))
            producer.flush()
            sent.append(time.monotonic())
            next_order += 0.25
        seen = STOCK - tracer_on_hand(settings.web_port)
        while len(latencies) < min(seen, len(sent)):
            latencies.append(time.monotonic() - sent[len(latencies)])
        if finished is None and now >= next_check:
            lag, total = ticks_lag(settings, consumer)
            if total >= before + n + 1 and lag == 0:
                finished = time.monotonic()
            next_check = now + 1.0
        if now - started > 900:
            raise TimeoutError("the new day's ticks were not consumed within 900 s")
        time.sleep(0.05)
    producer.close()
    consumer.close()
    return latencies, finished - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=30_000)
    parser.add_argument("--rates", nargs="+", type=float, default=[0.0, 1000.0])
    args = parser.parse_args()
    base = Settings.from_env()
    ensure_broker(base)
    print(
        f"{args.skus:,} SKUs and a tracer; a tracer order every 0.25 s until a new day's ticks are in"
    )
    print(
        f"{'tick rate':>12}  {'orders':>6}  {'p50 ms':>7}  {'p99 ms':>7}  {'max ms':>7}  ticks in after"
    )
    with run_topics_deleted(base.bootstrap_servers), tempfile.TemporaryDirectory() as data:
        for rate in args.rates:
            settings = dataclasses.replace(
                fresh_settings(base, Path(data)),
                web_enabled=True,
                web_port=free_port(),
                tick_seconds=1.0,
                tick_rate=rate,
            )
            with running_workers(settings, master_data(args.skus)):
                latencies, took = measure(settings, args.skus)
            ms = np.array(latencies) * 1000
            label = "all at once" if rate <= 0 else f"{rate:,.0f}/s"
            print(
                f"{label:>12}  {len(ms):>6}  {np.percentile(ms, 50):>7.0f}  "
                f"{np.percentile(ms, 99):>7.0f}  {ms.max():>7.0f}  {took:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
