"""A category's yearly season, learned in the worker's SKU table and kept when a restarted
worker restores that table from its changelog, through the real broker."""

from __future__ import annotations

import pytest

from tests.helpers import DAY, catalog, inventory, iso_week_days, order
from tests.integration.kafka_io import produce_in_order
from tests.integration.web import get

pytestmark = pytest.mark.integration

SKUS = ["sku-a", "sku-b"]
# event times are in the past (the worker dead-letters events from the future)
FIRST_DAY = iso_week_days(2024, 36)[0]  # Monday 2024-09-02
PEAK = set(iso_week_days(2024, 48))  # the week of Black Friday 2024: three times the sales
EVE = iso_week_days(2025, 47)[-1]  # Sunday 2025-11-23, the eve of the same week a year on


def daily_orders(first: int, last: int) -> list[tuple[str, dict]]:
    """An order a day at noon, from UTC day `first` to `last`, for 10 units of each SKU (30 in
    the peak week)."""
    return [
        ("orders", order(f"y{day}", day * DAY + 43_200, [(s, 30 if day in PEAK else 10) for s in SKUS]))
        for day in range(first, last + 1)
    ]  # fmt: skip


def forecasts(port: int) -> list[dict]:
    views = [get(port, f"/forecast/{sku}") for sku in SKUS]
    assert all(status == 200 for status, _ in views)
    return [view for _, view in views]


def test_a_categorys_yearly_season_is_learned_in_the_table_and_restored_with_it(web_worker):
    worker, port = web_worker, web_worker.settings.web_port
    worker.open_market(
        [("catalog", catalog(sku)) for sku in SKUS]
        + [("inventory", inventory(f"open-{sku}", FIRST_DAY * DAY, sku, "snapshot", 10**6)) for sku in SKUS]
    )  # fmt: skip
    produce_in_order(worker.settings, daily_orders(FIRST_DAY, EVE))
    worker.wait_idle(["orders", "order-lines"], timeout=120)
    for forecast in forecasts(port):  # the next day's: the Monday of the peak week a year on
        assert forecast["day"] == "2025-11-24"
        assert forecast["mean_per_day_at_list_price"] == pytest.approx(10, rel=0.1)
        # last year's 3×: far above the prior noise (√v = 0.1), so kept nearly whole
        assert forecast["yearly_factor"] > 2.5
        assert forecast["mean_per_day"] > 2.5 * forecast["mean_per_day_at_list_price"]
    # RocksDB gone: the table, the category's weeks with it, comes back from the changelog.
    # Monday's order opens Monday, whose forecasts read the category's weeks again.
    worker.restart(wipe_local_state=True)
    worker.wait_ready()
    produce_in_order(worker.settings, daily_orders(EVE + 1, EVE + 1))
    worker.wait_idle(["orders", "order-lines"], timeout=120)
    for forecast in forecasts(port):
        assert forecast["day"] == "2025-11-25"
        assert forecast["yearly_factor"] > 2.5
