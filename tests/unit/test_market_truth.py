"""The simulator's truth: its optimal price really maximises its own expected profit, and its
draws are common random numbers, so versions of the engine are compared on the same shoppers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realtime_mkt.sim.market import SCENARIOS, Market, poisson_quantile


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


def test_poisson_quantile_draws_poisson_demand_monotone_in_its_mean():
    uniforms = np.random.default_rng(0).random(20_000)
    for mean in (0.3, 8.0, 40.0):
        draws = np.array([poisson_quantile(u, mean) for u in uniforms])
        assert draws.mean() == pytest.approx(mean, rel=0.03)
        assert draws.var() == pytest.approx(mean, rel=0.08)
    low, high = ([poisson_quantile(u, m) for u in uniforms[:500]] for m in (10.0, 12.0))
    assert all(h >= lo for lo, h in zip(low, high, strict=True)) and sum(high) > sum(low)


def run_days(market: Market, days: int, cut_price_of: str | None = None) -> pd.DataFrame:
    for day in range(days):
        if cut_price_of and day == 5:
            market.price[cut_price_of] *= 0.8
        market.catalog_events(day)
        market.day_events(day)
    return pd.DataFrame(market.log).set_index(["sku_id", "day"])


def test_one_skus_price_cut_leaves_every_other_skus_shoppers_as_they_were():
    base = run_days(Market(SCENARIOS["steady"], seed=9, n_skus=6), 12)
    cut = run_days(Market(SCENARIOS["steady"], seed=9, n_skus=6), 12, cut_price_of="sku-0002")
    others = base.index.get_level_values("sku_id") != "sku-0002"
    assert base[others].demand.equals(cut[others].demand)  # common random numbers
    moved = base.loc["sku-0002"].demand, cut.loc["sku-0002"].demand
    assert (moved[1].loc[5:] >= moved[0].loc[5:]).all() and moved[1].sum() > moved[0].sum()
