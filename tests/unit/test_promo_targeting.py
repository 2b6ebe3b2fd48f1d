"""Whom promotions reach: the preference model's audience for a SKU is users who click it more
than chance, learned from the simulator's shoppers (who buy what they like), and the backtest's
random targeting is the baseline it is measured against."""

from __future__ import annotations

import numpy as np

from realtime_mkt.backtest import random_audience, run_backtest


def true_ctr(market, sku, user_ids: list[str]) -> float:
    return float(
        np.mean([market.click_probability(sku, market.user_number[u], "ad", 2) for u in user_ids])
    )


def test_the_model_audience_clicks_more_than_random_users_and_nears_the_best_possible():
    run = run_backtest("steady", days=40, n_skus=12, seed=5, progress=False)
    market, users = run.market, run.users
    assert users is not None
    chance = random_audience(users, market)
    ours, random, best = [], [], []
    for sku in market.skus:
        audience = users.audience(sku.sku_id, 100)
        drawn = chance(sku.sku_id, 100)
        assert len(audience.user_ids) == len(drawn.user_ids) == 100
        assert drawn.user_ids == chance(sku.sku_id, 100).user_ids  # the same users each time
        ours.append(true_ctr(market, sku, audience.user_ids))
        random.append(true_ctr(market, sku, drawn.user_ids))
        truth = [market.click_probability(sku, u, "ad", 2) for u in range(market.n_users)]
        best.append(float(np.mean(sorted(truth)[-100:])))
    assert np.mean(ours) > 1.4 * np.mean(random)
    assert np.mean(ours) > 0.6 * np.mean(best)


def test_backtest_promotions_aim_at_the_targeting_asked_for():
    def audiences(targeting: str) -> dict[str, list[str]]:
        run = run_backtest("overstock", 8, 6, 3, progress=False, targeting=targeting)
        promos = run.decisions["promo-adjustments"]
        return {p["sku_id"]: p["audience"]["user_ids"] for p in promos if p["action"] == "start"}

    model, random = audiences("model"), audiences("random")
    assert model and model.keys() == random.keys()
    assert all(model[sku] != random[sku] for sku in model)
    assert all(sorted(random[sku]) == random[sku] for sku in random)  # drawn, not ranked
