"""The simulator's promotions reach their audience: ads shown to the users a promotion names,
clicked with the market's true click probability, bought from the stock the day's shoppers left
and paid for per click; and its shoppers buy what they like."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from realtime_mkt.sim.market import (
    AD_COST_PER_CLICK,
    SCENARIOS,
    SEGMENT_REACH,
    Market,
    ad_position,
)


def promote(market: Market, sku_id: str, audience: dict, bid: float = 1.0) -> None:
    market.apply(
        "promo-adjustments",
        {"sku_id": sku_id, "action": "start", "promo_price": market.price[sku_id] * 0.9,
         "audience": audience, "bid_multiplier": bid},
        day=0,
    )  # fmt: skip


def promoted_only(market: Market, sku_id: str) -> None:
    """No shopper comes for the SKU on their own: every event of it is its promotion's."""
    next(s for s in market.skus if s.sku_id == sku_id).base_demand = 0.0


def ad_day(market: Market, sku_id: str, day: int) -> tuple[dict, list[tuple[str, dict]]]:
    """The SKU's row of the day's log, and its events (orders by their line)."""
    events = [(t, v) for t, v in market.day_events(day) if v.get("sku_id") == sku_id
              or any(line["sku_id"] == sku_id for line in v.get("lines", []))]  # fmt: skip
    row = next(r for r in market.log if r["sku_id"] == sku_id and r["day"] == day)
    return row, events


def test_a_promotion_shows_one_ad_a_day_to_each_user_it_names_in_the_slot_its_bid_wins():
    market = Market(SCENARIOS["steady"], seed=5, n_skus=3, n_users=50)
    promoted_only(market, "sku-0001")
    named = [f"u{i:05d}" for i in range(0, 50, 2)] + ["someone-the-market-lacks"]
    promote(market, "sku-0001", {"user_ids": named, "size": len(named)}, bid=4.0)
    row, events = ad_day(market, "sku-0001", 0)
    clicks = [v for t, v in events if t == "clicks"]
    shown = [v for v in clicks if v["action"] == "impression"]
    assert sorted(v["user_id"] for v in shown) == named[:-1]
    assert {(v["placement"], v["position"]) for v in clicks} == {("ad", ad_position(4.0))}
    assert row["ad_impressions"] == 25 and row["ad_clicks"] == len(clicks) - len(shown)
    list_price = market.skus[1].list_price
    assert row["ad_spend"] == pytest.approx(
        row["ad_clicks"] * list_price * AD_COST_PER_CLICK * 4, abs=0.005
    )
    assert [ad_position(b) for b in (10, 2, 1, 0.5, 0.1)] == [1, 1, 2, 3, 5]


def test_a_segment_audience_reaches_users_at_random_and_a_stopped_promotion_none():
    market = Market(SCENARIOS["steady"], seed=5, n_skus=3, n_users=400)
    promoted_only(market, "sku-0002")
    promote(market, "sku-0002", {"segment": "category:kitchen", "size": 0})
    row, events = ad_day(market, "sku-0002", 0)
    shown = {v["user_id"] for t, v in events if t == "clicks" and v["action"] == "impression"}
    assert row["ad_impressions"] == len(shown) == SEGMENT_REACH
    market.apply("promo-adjustments", {"sku_id": "sku-0002", "action": "stop"}, day=0)
    row, events = ad_day(market, "sku-0002", 1)
    assert row["ad_impressions"] == 0 and market.promo_price["sku-0002"] is None
    assert not events
    small = Market(SCENARIOS["steady"], seed=5, n_skus=3, n_users=40)  # fewer users than reach
    promoted_only(small, "sku-0002")
    promote(small, "sku-0002", {"segment": "category:kitchen", "size": 0})
    assert ad_day(small, "sku-0002", 0)[0]["ad_impressions"] == 40


def test_ad_clicks_follow_the_true_click_probability_and_buy_from_the_audience():
    market = Market(SCENARIOS["steady"], seed=8, n_skus=2, n_users=400)
    sku = market.skus[0]
    promoted_only(market, sku.sku_id)
    truth = np.array([market.click_probability(sku, u, "ad", 2) for u in range(400)])
    keen, cool = np.argsort(truth)[-100:], np.argsort(truth)[:100]
    clicks = {}
    for first, users in ((0, keen), (60, cool)):
        market.on_hand[sku.sku_id] = 10**6
        audience = [market.users[u] for u in users]
        promote(market, sku.sku_id, {"user_ids": audience, "size": 100})
        rows, buyers = [], []
        for day in range(first, first + 60):
            row, events = ad_day(market, sku.sku_id, day)
            rows.append(row)
            buyers += [v["user_id"] for t, v in events if t == "orders"]
        log = pd.DataFrame(rows)
        clicks[users is keen] = log.ad_clicks.sum()
        expected = truth[users].sum() * 60
        assert abs(clicks[users is keen] - expected) < 4 * np.sqrt(expected)
        assert log.ad_units.sum() == len(buyers) and set(buyers) <= set(audience)
        assert 0.2 < len(buyers) / clicks[users is keen] < 0.4  # AD_CONVERSION 0.3
    assert clicks[True] > 2 * clicks[False]


def test_ad_orders_take_only_the_stock_left():
    market = Market(SCENARIOS["steady"], seed=8, n_skus=2, n_users=400)
    sku = market.skus[0]
    promoted_only(market, sku.sku_id)
    market.on_hand[sku.sku_id] = 3
    promote(market, sku.sku_id, {"user_ids": market.users, "size": 400}, bid=10)
    row, events = ad_day(market, sku.sku_id, 0)
    assert row["sold"] == row["ad_units"] == 3 and row["on_hand_end"] == 0
    assert row["demand"] > row["sold"]  # the clicks that found no stock count as lost demand
    assert len([1 for t, _ in events if t == "orders"]) == 3


def test_shoppers_buy_what_they_like():
    market = Market(SCENARIOS["steady"], seed=4, n_skus=4, n_users=400)
    buyers: dict[str, list[int]] = {}
    for day in range(20):
        for topic, value in market.day_events(day):
            if topic == "orders":
                line = value["lines"][0]
                buyers.setdefault(line["sku_id"], []).append(market.user_number[value["user_id"]])
    for sku in market.skus:
        taste = market.user_latent @ sku.latent
        bought = np.bincount(buyers[sku.sku_id], minlength=400)
        keen = taste > np.quantile(taste, 0.75)
        cool = taste < np.quantile(taste, 0.25)
        assert bought[keen].sum() > 2 * bought[cool].sum()
