"""Whom promotions reach: the preference model's audience for a SKU is users who click it more
than chance, learned from the simulator's shoppers (who buy what they like), and the backtest's
random targeting is the baseline it is measured against."""

from __future__ import annotations

from realtime_mkt.backtest import audience_click_rates, random_audience, run_backtest


def test_the_model_audience_clicks_more_than_random_users_and_nears_the_best_possible():
    run = run_backtest("steady", days=40, n_skus=12, seed=5, progress=False)
    assert run.users is not None
    chance = random_audience(run.users, run.market)
    for sku in run.market.skus:
        drawn = chance(sku.sku_id, 100).user_ids
        assert len(drawn) == len(run.users.audience(sku.sku_id, 100).user_ids) == 100
        assert drawn == chance(sku.sku_id, 100).user_ids  # the same users each time
    rates = audience_click_rates(run)
    assert rates["model"] > 1.4 * rates["random"]
    assert rates["best"] > rates["model"] > 0.6 * rates["best"]
    # CTR reads the users' taste, so the bid sees the model's audience click more than anyone
    # (and random users no more): it compares predictions for the same ad slot and hour
    ratios = {"model": [], "random": []}
    for sku in run.market.skus:
        for name, audience in (("model", run.users.audience), ("random", chance)):
            picked = audience(sku.sku_id, 100)
            ratios[name].append(picked.predicted_ctr / picked.base_ctr)
    model, random = (sum(r) / len(r) for r in ratios.values())
    assert model > 1.05 and model > random + 0.1


def test_backtest_promotions_aim_at_the_targeting_asked_for():
    def audiences(targeting: str) -> dict[str, list[str]]:
        run = run_backtest("overstock", 8, 6, 3, progress=False, targeting=targeting)
        promos = run.decisions["promo-adjustments"]
        return {p["sku_id"]: p["audience"]["user_ids"] for p in promos if p["action"] == "start"}

    model, random = audiences("model"), audiences("random")
    assert model and model.keys() == random.keys()
    assert all(model[sku] != random[sku] for sku in model)
    assert all(sorted(random[sku]) == random[sku] for sku in random)  # drawn, not ranked
