"""`realtime-mkt demo`: a local broker, the topics, the worker and a generated market, end to end."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from tqdm import tqdm

from realtime_mkt.catalogue import topic
from realtime_mkt.ops.lag import format_table, group_lag, wait_until_consumed
from realtime_mkt.ops.local_broker import LocalBroker, broker_answers
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.settings import Settings
from realtime_mkt.sim.demo_market import DemoMarket, Event, malformed_examples
from realtime_mkt.worker_process import start_worker, stop_worker

DECISION_TOPICS = ("restock-requests", "price-adjustments", "promo-adjustments")


def ensure_broker(settings: Settings) -> None:
    """Use the configured broker if it answers, else start the local one."""
    if broker_answers(settings.bootstrap_servers):
        return
    broker = LocalBroker.default()
    if settings.bootstrap_servers != broker.bootstrap:
        raise SystemExit(f"no Kafka broker answers at {settings.bootstrap_servers}")
    print(f"starting a local Apache Kafka broker ({broker.home}) ...", flush=True)
    broker.start()


class _Market:
    """Feeds the market into Kafka and closes the loop: restock requests become receipts."""

    def __init__(self, settings: Settings, market: DemoMarket) -> None:
        self.settings = settings
        self.market = market
        self.sent: Counter[str] = Counter()
        self.producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=10)
        self.outputs = KafkaConsumer(
            *(topic(name).full_name(settings) for name in DECISION_TOPICS),
            topic("dead-letter").full_name(settings),
            bootstrap_servers=settings.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.decisions: dict[str, list[dict]] = {name: [] for name in DECISION_TOPICS}
        self.dead_letters: list[dict] = []
        self.receipts: dict[int, list[Event]] = {}

    def send(self, event: Event) -> None:
        value = json.dumps(event.value).encode()
        self.producer.send(
            topic(event.topic).full_name(self.settings), key=event.key.encode(), value=value
        )
        self.sent[event.topic] += 1

    def collect(self, today: int) -> None:
        for records in self.outputs.poll(timeout_ms=100).values():
            for record in records:
                value = json.loads(record.value)
                name = record.topic.removeprefix(self.settings.topic_prefix)
                if name == "dead-letter":
                    self.dead_letters.append(value)
                    continue
                self.decisions[name].append(value)
                if name != "restock-requests":
                    continue
                arrival = today + self.market.lead_time(value["sku_id"])
                self.receipts.setdefault(arrival, []).append(
                    self.market.receipt_for(value, arrival)
                )


def run_demo(settings: Settings, seconds: float, days: int, n_skus: int) -> None:
    """Run the whole pipeline on a generated market for about `seconds` and print a summary."""
    settings = replace(settings, topic_prefix=settings.topic_prefix or f"demo-{int(time.time())}.")
    settings = replace(
        settings, data_dir=Path(".realtime-mkt") / "demo" / settings.topic_prefix.rstrip(".")
    )
    ensure_broker(settings)
    created = create_topics(settings)
    print(
        f"topics: {sum(v == 'created' for v in created.values())} created, prefix {settings.topic_prefix!r}"
    )
    log = settings.data_dir / "worker.log"
    worker = start_worker(settings, log)
    print(f"worker started (pid {worker.pid}, log {log})", flush=True)
    market = DemoMarket(n_skus=n_skus)
    feed = _Market(settings, market)
    try:
        for event in [*market.catalog(), *market.opening_stock()]:
            feed.send(event)
        for name, key, raw in malformed_examples():
            feed.producer.send(topic(name).full_name(settings), key=key, value=raw)
            feed.sent[f"{name} (malformed)"] += 1
        pace = seconds / days
        for day in tqdm(range(days), desc="simulated days", unit="day"):
            started = time.monotonic()
            for event in [*feed.receipts.pop(day, []), *market.day(day)]:
                feed.send(event)
            feed.producer.flush()
            while time.monotonic() - started < pace:
                feed.collect(day)
            if worker.poll() is not None:
                raise SystemExit(f"the worker stopped (exit {worker.returncode}); see {log}")

        def collecting_while_alive() -> bool:
            feed.collect(days)
            return worker.poll() is None

        inputs = ["orders", "order-lines", "clicks", "inventory", "price-changes", "catalog"]
        wait_until_consumed(settings, inputs, 60, collecting_while_alive)
        feed.collect(days)
        _summary(settings, feed)
    finally:
        stop_worker(worker)
        feed.producer.close()
        feed.outputs.close()


def _summary(settings: Settings, feed: _Market) -> None:
    print("\n== inputs sent ==")
    for name, count in sorted(feed.sent.items()):
        print(f"  {name:<28} {count}")
    restocks = feed.decisions["restock-requests"]
    print(f"\n== restock requests: {len(restocks)} (last 5) ==")
    for r in restocks[-5:]:
        print(
            f"  {r['occurred_at']}  {r['sku_id']}  qty {r['quantity']:>4}  IP {r['inventory_position']:>5}"
            f"  s {r['reorder_point']:>7.1f}  S {r['order_up_to']:>7.1f}"
            f"  mu {r['forecast']['mean_per_day']:.1f}/d  {','.join(r['reason_codes'])}"
        )
    prices = feed.decisions["price-adjustments"]
    print(f"\n== price adjustments: {len(prices)} (last 5) ==")
    for p in prices[-5:]:
        e = p["elasticity"]
        print(
            f"  {p['occurred_at']}  {p['sku_id']}  {p['current_price']:>7.2f} -> {p['new_price']:>7.2f}"
            f"  e {e['estimate']:+.2f}±{e['stderr']:.2f}  bound {p['binding_rule'] or '-'}"
            f"  {','.join(p['reason_codes'])}"
        )
    promos = feed.decisions["promo-adjustments"]
    print(f"\n== promo adjustments: {len(promos)} (last 5) ==")
    for p in promos[-5:]:
        print(
            f"  {p['occurred_at']}  {p['sku_id']}  {p['action']:<6} {p['discount_pct']:>5.1f}%"
            f"  ref30 {p['reference_price_30d_min']:.2f}  audience {p['audience']['size']}"
            f"  bid x{p['bid_multiplier']:.2f}"
        )
    print(f"\n== dead letters: {len(feed.dead_letters)} ==")
    for d in feed.dead_letters:
        print(f"  {d['topic']}[{d['partition']}]@{d['offset']}: {d['error']}")
    print("\n== consumer lag ==")
    print(format_table(group_lag(settings.bootstrap_servers, settings.app_id)))
    print("\nthe broker keeps running; `realtime-mkt kafka stop` ends it")
