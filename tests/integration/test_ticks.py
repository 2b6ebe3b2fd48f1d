"""The worker's daily re-evaluation timer, through the real broker."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.worker_process import stop_worker
from tests.helpers import DAY, T0, assert_valid, catalog, demand_history, opening, order
from tests.integration.conftest import RunningWorker
from tests.integration.kafka_io import consume, produce_in_order

pytestmark = pytest.mark.integration


def test_timer_ticks_reach_skus_without_events(fresh_settings, tmp_path):
    settings = replace(fresh_settings, tick_seconds=1.0)
    create_topics(settings)
    worker = RunningWorker(settings, tmp_path)
    try:
        worker.open_market(opening("slow", 300))
        produce_in_order(settings, demand_history("slow", [4, 5, 4, 6]))
        worker.wait_idle(["orders", "order-lines"])
        # another SKU's sale twelve days later moves the worker's event-time clock
        produce_in_order(
            settings,
            [("catalog", catalog("busy")), ("orders", order("late", T0 + 12 * DAY, [("busy", 1)]))],
        )
        ticks = [json.loads(r.value) for r in consume(settings, "sku-ticks", 2)]
        assert {t["sku_id"] for t in ticks} >= {"slow", "busy"}
        promos = [json.loads(r.value) for r in consume(settings, "promo-adjustments", 1)]
        assert [(p["sku_id"], p["action"]) for p in promos][:1] == [("slow", "start")]
        assert_valid("promo-adjustments.v1", promos[0])
    finally:
        stop_worker(worker.process)
