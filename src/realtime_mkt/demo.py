"""`realtime-mkt demo`: a local broker, the topics, the worker and a simulated market, end to end."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from realtime_mkt.ops.lag import format_table, group_lag, wait_until_consumed
from realtime_mkt.ops.local_broker import LocalBroker, broker_answers
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.settings import Settings
from realtime_mkt.sim.live import LiveMarket
from realtime_mkt.sim.malformed import malformed_examples
from realtime_mkt.sim.market import SCENARIOS, Market
from realtime_mkt.worker_process import start_worker, stop_worker


def ensure_broker(settings: Settings) -> None:
    """Use the configured broker if it answers, else start the local one."""
    if broker_answers(settings.bootstrap_servers):
        return
    broker = LocalBroker.default()
    if settings.bootstrap_servers != broker.bootstrap:
        raise SystemExit(f"no Kafka broker answers at {settings.bootstrap_servers}")
    print(f"starting a local Apache Kafka broker ({broker.home}) ...", flush=True)
    broker.start()


def run_demo(settings: Settings, seconds: float, days: int, n_skus: int, scenario: str) -> None:
    """Run the whole pipeline on a simulated market for about `seconds` and print a summary."""
    settings = replace(settings, topic_prefix=settings.topic_prefix or f"demo-{int(time.time())}.")
    settings = replace(
        settings, data_dir=Path(".realtime-mkt") / "demo" / settings.topic_prefix.rstrip(".")
    )
    settings = replace(settings, tick_seconds=min(settings.tick_seconds, seconds / days))
    ensure_broker(settings)
    created = create_topics(settings)
    print(
        f"topics: {sum(v == 'created' for v in created.values())} created, prefix {settings.topic_prefix!r}"
    )
    log = settings.data_dir / "worker.log"
    worker = start_worker(settings, log)
    print(
        f"worker started (pid {worker.pid}, log {log}, web http://127.0.0.1:{settings.web_port}/)",
        flush=True,
    )
    live = LiveMarket(settings, Market(SCENARIOS[scenario], n_skus=n_skus))
    try:
        for name, key, raw in malformed_examples():
            live.send_raw(name, key, raw)
        live.run(days, seconds / days, alive=lambda: worker.poll() is None)

        def collecting_while_alive() -> bool:
            live.collect()
            return worker.poll() is None

        inputs = ["orders", "order-lines", "clicks", "inventory", "price-changes", "catalog"]
        wait_until_consumed(settings, inputs, 120, collecting_while_alive)
        # the last day's re-evaluation ticks go out on the worker's next timer round, after
        # the inputs that moved its day: let two rounds pass, then wait for those too
        rounds_end = time.monotonic() + 2 * settings.tick_seconds
        while time.monotonic() < rounds_end and collecting_while_alive():
            time.sleep(0.2)
        wait_until_consumed(settings, [*inputs, "sku-ticks"], 120, collecting_while_alive)
        live.collect()
        _summary(settings, live)
    finally:
        stop_worker(worker)
        live.close()


def _summary(settings: Settings, feed: LiveMarket) -> None:
    print("\n== inputs sent ==")
    for name, count in sorted(feed.sent.items()):
        print(f"  {name:<28} {count}")
    restocks = feed.decisions["restock-requests"]
    print(f"\n== restock requests: {len(restocks)} (last 5) ==")
    for r in restocks[-5:]:
        print(
            f"  {r['occurred_at']}  {r['sku_id']}  qty {r['quantity']:>4}  IP {r['inventory_position']:>5}"
            f"  s {r['reorder_point']:>7.1f}  S {r['order_up_to']:>7.1f}"
            f"  mu {r['forecast']['mean_per_day']:.1f}/d  z {r['cycle_service']['safety_factor']:.2f}"
            f"  {','.join(r['reason_codes'])}"
        )
    prices = feed.decisions["price-adjustments"]
    print(f"\n== price adjustments: {len(prices)} (last 5) ==")
    for p in prices[-5:]:
        e, anchor = p["elasticity"], p["anchor"]
        print(
            f"  {p['occurred_at']}  {p['sku_id']}  {p['current_price']:>7.2f} -> {p['new_price']:>7.2f}"
            f"  e {e['estimate']:+.2f}±{e['stderr']:.2f}  w {p['optimum_weight']:.2f}"
            f" (anchor {anchor['price']:.2f} ±{anchor['error']:.0%}, list {anchor['list_share']:.0%})"
            f"  bound {p['binding_rule'] or '-'}"
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
