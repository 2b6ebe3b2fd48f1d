"""The simulator's truth: its optimal price really maximises its own expected profit."""

from __future__ import annotations

import pytest

from realtime_mkt.sim.market import SCENARIOS, Market


@pytest.mark.parametrize("step", [0.95, 1.05])
def test_optimal_price_beats_nearby_prices_with_the_competitor_held(step):
    market = Market(SCENARIOS["steady"], seed=3, n_skus=12, n_users=10)
    for sku in market.skus:
        best = market.optimal_price(sku)
        if not sku.min_price < best < sku.max_price:
            continue  # clamped to a bound: nothing to compare on that side

        def profit(price: float, sku=sku) -> float:
            return (price - sku.unit_cost) * market.mean_demand(sku, day=0, price=price)

        assert profit(best) > profit(best * step)


def test_list_prices_sit_around_the_true_optimum():
    market = Market(SCENARIOS["steady"], seed=3, n_skus=200, n_users=10)
    ratios = [s.list_price / market.optimal_price(s) for s in market.skus]
    assert min(ratios) > 0.8 and max(ratios) < 1.25
    assert 0.95 < sum(ratios) / len(ratios) < 1.1
