"""Orders that arrive as a second worker joins the group each count once at their SKU.

The joining worker restores its tables while the orders come in; Faust's consumer set aside
what it fetched for the partitions it had paused meanwhile, and the commit moved past those
records: the first few hundred orders of each partition it took over were lost (README
*Records Faust's consumer set aside*). Each SKU's stock from `/sku` shows every lost order as a
unit over, every order applied twice as a unit short.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from realtime_mkt.ops.lag import wait_for_members
from realtime_mkt.worker_process import free_port, stop_worker
from tests.helpers import T0, opening, order
from tests.integration.conftest import RunningWorker
from tests.integration.kafka_io import produce
from tests.integration.web import get

pytestmark = pytest.mark.integration

SKUS = [f"sku-{i}" for i in range(12)]
PER_SKU = 1500


def test_orders_arriving_as_a_worker_joins_each_count_once(web_worker, tmp_path):
    first = web_worker
    first.open_market([value for sku in SKUS for value in opening(sku, 10 * PER_SKU)])
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second = RunningWorker(
        replace(first.settings, web_port=free_port(), data_dir=second_dir / "state"), second_dir
    )
    try:
        wait_for_members(first.settings, 2, 120, lambda: second.process.poll() is None)
        orders = [
            order(f"j-{i}", T0 + 60 + i, [(SKUS[i % len(SKUS)], 1)])
            for i in range(len(SKUS) * PER_SKU)
        ]  # keyed by order id: spread over every orders partition, sent at once
        produce(
            first.settings,
            [("orders", o["order_id"].encode(), json.dumps(o).encode()) for o in orders],
        )
        first.wait_idle(["orders", "order-lines"], timeout=180)
        second.assert_alive()
        stock = {sku: get(first.settings.web_port, f"/sku/{sku}")[1]["on_hand"] for sku in SKUS}
        assert stock == {sku: 9 * PER_SKU for sku in SKUS}
    finally:
        stop_worker(second.process)
