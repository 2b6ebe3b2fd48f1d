"""A stock-out day read by its time in stock, with when in the day orders come learned in the
worker's SKU table and restored with it from the changelog, through the real broker."""

from __future__ import annotations

import datetime

import pytest

from tests.helpers import DAY, catalog, day_number, inventory, order
from tests.integration.kafka_io import produce_in_order
from tests.integration.web import get

pytestmark = pytest.mark.integration

SKU = "sku-a"
FIRST_DAY = day_number(datetime.date(2025, 3, 3))  # in the past: the worker dead-letters the future
SOLD_OUT = FIRST_DAY + 28
HOUR = 3600


def afternoon_orders(day: int, units: int, hours: range) -> list[tuple[str, dict]]:
    """An order of `units` at half past each hour of `hours` on UTC day `day`."""
    return [
        ("orders", order(f"o{day}-{h}", day * DAY + h * HOUR + 1800, [(SKU, units)])) for h in hours
    ]


def test_a_sold_out_day_is_read_by_when_its_orders_come_after_a_restart(web_worker):
    """Four weeks of 2 units an hour from noon to midnight (24 a day), then a day whose demand
    doubled sells its 24 units by 17:30. By the clock the SKU had stock for 73 % of the day; by
    when its orders come, for about 55 %: its 20 units before the last order say demand came
    at 36 a day, and the level moves toward that (before stop 39, the day's 24 units did not
    beat the forecast and taught nothing)."""
    worker, port = web_worker, web_worker.settings.web_port
    worker.open_market(
        [("catalog", catalog(SKU)), ("inventory", inventory("open", FIRST_DAY * DAY, SKU, "snapshot", 10**6))]
    )  # fmt: skip
    history = [
        o for day in range(FIRST_DAY, SOLD_OUT) for o in afternoon_orders(day, 2, range(12, 24))
    ]
    produce_in_order(worker.settings, history)
    worker.wait_idle(["orders", "order-lines"], timeout=120)
    status, before = get(port, f"/forecast/{SKU}")
    assert status == 200 and before["mean_per_day_at_list_price"] == pytest.approx(24, rel=0.01)
    # RocksDB gone: the table, the partition's intraday profile with it, comes back from the
    # changelog
    worker.restart(wipe_local_state=True)
    worker.wait_ready()
    count = inventory("count", SOLD_OUT * DAY + 10, SKU, "snapshot", 24)
    produce_in_order(
        worker.settings,
        [("inventory", count), *afternoon_orders(SOLD_OUT, 4, range(12, 18)),
         *afternoon_orders(SOLD_OUT + 1, 4, range(12, 13))],  # closes the sold-out day
    )  # fmt: skip
    worker.wait_idle(["orders", "order-lines", "inventory"], timeout=120)
    status, after = get(port, f"/forecast/{SKU}")
    assert status == 200
    # the clock's share would read 20 / 0.73 = 27.4 a day and move the level to about 24.9
    assert after["mean_per_day_at_list_price"] > 26
