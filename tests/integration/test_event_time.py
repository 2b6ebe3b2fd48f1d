"""Demand and click days in event time, when orders or clicks partitions are read at different
paces, through the real broker."""

from __future__ import annotations

import time

import pytest

from realtime_mkt.events import format_time
from realtime_mkt.worker_process import stop_worker
from tests.helpers import DAY, T0, encoded, keys_on, opening, order
from tests.integration.kafka_io import produce
from tests.integration.web import get, sample, value

pytestmark = pytest.mark.integration

SKUS = [f"sku-{n}" for n in range(4)]
DAYS = 6


def daily_orders(prefix: str, per_day: int) -> list[tuple[str, bytes, bytes]]:
    """`per_day` orders a day, each of one unit of every SKU, spread over each day in order."""
    records = []
    for day in range(DAYS):
        for n in range(per_day):
            value = order(
                f"{prefix}{day}-{n}", T0 + day * DAY + n * DAY / per_day, [(s, 1) for s in SKUS]
            )
            records.append(("orders", value["order_id"].encode(), encoded(value)))
    return records


def days_held_open_until(port: int, topic: str, count: int) -> list[float]:
    """The worker's `realtime_mkt_days_held_open`, every 0.1 s until it has read `count` records
    of `topic` (at most 120 s)."""
    held_open = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        metrics = get(port, "/metrics")[1]
        held_open.append(sample(metrics, "realtime_mkt_days_held_open"))
        if (value(metrics, f'realtime_mkt_events_total{{topic="{topic}"}}') or 0.0) >= count:
            break
        time.sleep(0.1)
    return held_open


def test_a_partition_read_ahead_of_another_closes_no_day_early(web_worker):
    worker, port = web_worker, web_worker.settings.web_port
    worker.open_market([v for sku in SKUS for v in opening(sku, 100_000)])
    stop_worker(worker.process)
    # a backlog in two orders partitions: one of 5 orders a day, read to its end in the first
    # fetch, and one of 1,500 a day, read over many fetches: its days come long after
    produce(worker.settings, daily_orders("dense", 1_500), orders_partition=1)
    produce(worker.settings, daily_orders("sparse", 5), orders_partition=0)
    worker.restart(wipe_local_state=False)
    worker.wait_ready()
    # days the SKUs keep open for the dense partition, while it is read
    held_open = days_held_open_until(port, "orders", DAYS * (1_500 + 5))
    worker.wait_idle(["orders", "order-lines"], timeout=120)
    metrics = get(port, "/metrics")[1]
    assert sample(metrics, "realtime_mkt_late_sales_total") == 0
    assert max(held_open) >= 1 and sample(metrics, "realtime_mkt_days_held_open") == 0
    for sku in SKUS:
        forecast = get(port, f"/sku/{sku}")[1]["forecast"]
        # days 0-4 closed by day 5's sales, each learned with every unit it sold
        assert forecast["history_days"] == DAYS - 1
        assert forecast["mean_per_day_at_list_price"] == pytest.approx(1_505)


def daily_clicks(partition: int, per_day: int) -> list[tuple[str, bytes, bytes]]:
    """`per_day` clicks a day on every SKU, by users of `partition`, spread over each day."""
    users = keys_on("clicks", partition, 20, "user-")
    records = []
    for day in range(DAYS):
        for n in range(per_day):
            for sku in SKUS:
                user = users[n % len(users)]
                value = {
                    "event_id": f"p{partition}-{day}-{n}-{sku}",
                    "occurred_at": format_time(T0 + day * DAY + n * DAY / per_day),
                    "user_id": user,
                    "sku_id": sku,
                    "action": "click",
                    "placement": "search",
                    "position": 1,
                }
                records.append(("clicks", user.encode(), encoded(value)))
    return records


def test_a_clicks_partition_read_behind_the_orders_closes_no_day_early(ticking_web_worker):
    worker, port = ticking_web_worker, ticking_web_worker.settings.web_port
    worker.open_market([v for sku in SKUS for v in opening(sku, 100_000)])
    stop_worker(worker.process)
    # a backlog: orders of 5 a day, read to their end in the first fetch, and clicks in two
    # partitions, one of 5 a day and one of 1,000, read over many fetches: its days come long
    # after the SKUs' sales, and each signal then goes through `sku-signals`; the daily ticks
    # close the days the sales left open
    produce(worker.settings, daily_clicks(1, 1_000))
    produce(worker.settings, daily_clicks(0, 5) + daily_orders("sparse", 5), orders_partition=0)
    worker.restart(wipe_local_state=False)
    worker.wait_ready()
    held_open = days_held_open_until(port, "sku-signals", DAYS * len(SKUS) * (1_000 + 5))
    worker.wait_idle(["clicks", "sku-signals", "orders"], timeout=120)
    metrics = get(port, "/metrics")[1]
    assert sample(metrics, "realtime_mkt_late_click_signals_total") == 0
    assert sample(metrics, "realtime_mkt_late_sales_total") == 0
    assert max(held_open) >= 1 and sample(metrics, "realtime_mkt_days_held_open") == 0
    for sku in SKUS:
        view = get(port, f"/sku/{sku}")[1]
        # days 0-4 closed, each with every click it had and every unit it sold
        assert view["clicks"] == {"per_day": pytest.approx(1_005), "history_days": DAYS - 1}
        assert view["forecast"]["mean_per_day_at_list_price"] == pytest.approx(5)
