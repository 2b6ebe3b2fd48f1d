import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from realtime_mkt.policies.list_price_error import Anchor
from realtime_mkt.policies.optimum import posterior_log_optimum
from realtime_mkt.policies.pricing import MarketView, PricingConfig, optimum_weight, target_price

CONFIG = PricingConfig()


def view(**overrides):
    base = {"price": 20.0, "list_price": 20.0, "list_price_error": 0.1, "unit_cost": 10.0, "elasticity": -3.0, "stderr": 0.0, "demand_per_day": 10.0,
            "on_hand": 100, "cover_days_needed": 3.0, "day": 0, "price_spread": 0.0,
            "learned_days": 10.0}  # fmt: skip
    base.update(overrides)
    base.setdefault("own_stderr", base["stderr"])  # no category prior unless a test sets one
    list_price, error = base.pop("list_price"), base.pop("list_price_error")
    base.setdefault("anchor", Anchor(list_price, error, 1.0, error))  # the list price alone
    return MarketView(**base)


def test_profit_optimum_for_constant_elasticity():
    target = target_price("s", view(), CONFIG)
    assert target.price == pytest.approx(10 * -3 / (1 - 3))  # c·e/(1+e) = 15
    assert target.reasons == ["profit_optimum"] and not target.exploration


def test_scarce_stock_raises_the_price_to_stretch_it():
    target = target_price("s", view(on_hand=10), CONFIG)
    # at 20 the SKU sells 10/day; 10 units must last 3 days: 20·(10/30)^(1/−3)
    assert target.price == pytest.approx(20 * (10 / 30) ** (-1 / 3))
    assert "scarce_stock" in target.reasons


def test_overstock_lowers_the_price_by_the_holding_it_saves():
    # p* = 24 sells 10·1.2^−3 = 5.79 a day, so the last of 5000 units waits 864 days, 861 past
    # the lead time: sold now, a unit saves 25 %/year of its cost for that long
    target = target_price("s", view(on_hand=5000, unit_cost=16), CONFIG)
    cover = 5000 / (10 * 1.2**-3)
    assert target.price == pytest.approx(24 * math.exp(-0.25 * (cover - 3) / 365))
    assert "overstock" in target.reasons
    # 150 days of cover: about 9.5 % off, not the 30 % that would sell it within 60 days
    modest = target_price("s", view(on_hand=150 * 10 * 1.2**-3, unit_cost=16), CONFIG)
    assert modest.price / 24 == pytest.approx(math.exp(-0.25 * 147 / 365))
    # a week of cover is no overstock: the saving is under `min_change`
    normal = target_price("s", view(on_hand=40, unit_cost=16), CONFIG)
    assert normal.price == pytest.approx(24) and "overstock" not in normal.reasons


def test_inelastic_demand_pushes_up_only_when_the_estimate_is_sure_of_it():
    assert target_price("s", view(elasticity=-0.6), CONFIG).price > 20
    unsure = target_price("s", view(elasticity=-0.6, stderr=0.25), CONFIG)  # −0.6 − 2·0.25 < −1
    # the list price holds, explored ±5 % to learn more
    assert unsure.weight == 0.0 and unsure.exploration
    assert round(unsure.price / 20, 4) in {0.95, 1.05}


def test_uncertain_optimum_is_shrunk_toward_the_list_price():
    certain = target_price("s", view(stderr=0.0), CONFIG)
    assert certain.price == pytest.approx(15) and certain.weight == 1.0
    # e = −3: ln p* = ln(c·e/(1+e)) moves 1/|e(1+e)| = 1/6 per unit of e, so an SE of 0.6 spreads
    # it as much as the list price's own error (0.1): the two get equal weight
    half = target_price("s", view(stderr=0.6), CONFIG)
    assert half.optimum == pytest.approx(15) and half.weight == pytest.approx(0.5)
    assert "shrunk_to_list_price" not in half.reasons
    vague = target_price("s", view(stderr=0.9), CONFIG)
    assert vague.weight < 0.5 and "shrunk_to_list_price" in vague.reasons


def test_trust_depends_on_how_much_the_optimum_moves_with_the_elasticity():
    # the same standard error: p* hardly moves with e where demand is very elastic, a lot near −1
    assert optimum_weight(-4.0, 0.3, 0.1) > 0.9 > 0.1 > optimum_weight(-1.5, 0.3, 0.1)
    assert optimum_weight(-4.0, 0.0, 0.1) == 1.0
    assert optimum_weight(-4.0, 0.3, 0.2) > optimum_weight(-4.0, 0.3, 0.1)  # a vaguer list price


def test_uncertain_elasticity_explores_on_alternate_days():
    unexplored = math.exp(posterior_log_optimum(10.0, -3.0, 0.8, 20.0, CONFIG.list_price_error))
    target = target_price("s", view(stderr=0.8), CONFIG)
    ratios = {
        round(target_price("s", view(stderr=0.8, day=d), CONFIG).price / unexplored, 4)
        for d in range(0, 40, 2)
    }
    assert target.exploration and "exploration" in target.reasons
    assert ratios == {0.95, 1.05}


def test_exploration_stops_once_the_optimum_is_trusted_more_than_the_list_price():
    # e = −3: the weight passes one half at SE = 0.6
    assert target_price("s", view(stderr=0.7), CONFIG).exploration
    trusted = target_price("s", view(stderr=0.5), CONFIG)
    assert trusted.weight > 0.5 and not trusted.exploration
    assert trusted.price == pytest.approx(
        math.exp(posterior_log_optimum(10.0, -3.0, 0.5, 20.0, 0.1))
    )


def test_exploration_keeps_the_price_spread_at_kappa_root_days_and_no_more():
    # untrusted (w < ½): explored while the spread of ln price is under κ·√days
    kappa = CONFIG.exploration_spread
    low = target_price(
        "s", view(stderr=0.8, price_spread=0.9 * kappa * 10, learned_days=100), CONFIG
    )
    assert low.exploration and "exploration" in low.reasons
    enough = target_price("s", view(stderr=0.8, price_spread=kappa * 10, learned_days=100), CONFIG)
    assert not enough.exploration and "exploration" not in enough.reasons
    assert enough.price == pytest.approx(
        math.exp(posterior_log_optimum(10.0, -3.0, 0.8, 20.0, CONFIG.list_price_error))
    )
    # the spread needed grows with the days: what was enough after 25 days is not after 100
    assert not target_price(
        "s", view(stderr=0.8, price_spread=0.06, learned_days=25), CONFIG
    ).exploration
    assert target_price(
        "s", view(stderr=0.8, price_spread=0.06, learned_days=100), CONFIG
    ).exploration
    # no day learned yet: exploring would teach the regression nothing
    assert not target_price("s", view(stderr=0.8, learned_days=0.0), CONFIG).exploration
    # a trusted estimate is not explored, whatever its spread
    assert not target_price(
        "s", view(stderr=0.5, price_spread=0.0, learned_days=100), CONFIG
    ).exploration


def test_exploration_reads_the_skus_own_days_and_the_target_its_category_too():
    # the category's prior makes the estimate surer (SE 0.5: trusted), its own days are not
    pooled = target_price("s", view(stderr=0.5, own_stderr=0.7), CONFIG)
    assert pooled.exploration and pooled.weight > 0.5
    unexplored = math.exp(posterior_log_optimum(10.0, -3.0, 0.5, 20.0, 0.1))
    assert pooled.price / unexplored == pytest.approx(1.05) or pooled.price / unexplored == (
        pytest.approx(0.95)
    )
    # the SKU's own days trusted: no exploration, whatever the prior adds
    assert not target_price("s", view(stderr=0.5, own_stderr=0.55), CONFIG).exploration


def test_the_target_starts_from_the_anchor_the_category_s_markups_move():
    # the list price (20) blended with the category's markups' price: 16, and surer than σ_L
    anchor = Anchor(price=16.0, error=0.05, list_share=0.4, list_price_error=0.1)
    target = target_price("s", view(stderr=0.5, anchor=anchor), CONFIG)
    assert target.anchor == anchor
    # the same estimate weighs less against a surer anchor, and is explored
    assert target.weight == pytest.approx(optimum_weight(-3.0, 0.5, 0.05)) and target.weight < 0.5
    assert target.exploration
    unexplored = math.exp(posterior_log_optimum(10.0, -3.0, 0.5, 16.0, 0.05))
    assert target.price / unexplored in (pytest.approx(1.05), pytest.approx(0.95))
    assert abs(math.log(unexplored / 16.0)) < abs(math.log(unexplored / 20.0))


@given(
    elasticity=st.floats(min_value=-50, max_value=5),
    stderr=st.floats(min_value=0, max_value=10),
    demand_per_day=st.floats(min_value=0, max_value=1e6),
    on_hand=st.integers(min_value=-1000, max_value=10**7),
    cover_days_needed=st.floats(min_value=0, max_value=60),  # the catalog allows 0
    list_price=st.floats(min_value=0.01, max_value=1e6),
    list_price_error=st.floats(min_value=0, max_value=5),
)
# found by this test: 5e-324 units a day times half a day underflowed to 0 and divided by it
@example(
    elasticity=-1.0,
    stderr=0.0,
    demand_per_day=5e-324,
    on_hand=-1,
    cover_days_needed=0.5,
    list_price=20.0,
    list_price_error=0.1,
)
# found on reading stop 34's change: demand at a target 10× the price underflowed to 0, and the
# stock's cover divided by it
@example(
    elasticity=-1.05,
    stderr=0.0,
    demand_per_day=5e-324,
    on_hand=100,
    cover_days_needed=3.0,
    list_price=20.0,
    list_price_error=0.1,
)
def test_every_market_view_gets_a_finite_positive_target(
    elasticity, stderr, demand_per_day, on_hand, cover_days_needed, list_price, list_price_error
):
    # found in a replay: e = +0.017 with 3e-6 units a day and 80 on hand overflowed a float
    # (price · ratio^(1/e)), and the exception failed the SKU's event
    market = view(
        elasticity=elasticity,
        stderr=stderr,
        demand_per_day=demand_per_day,
        on_hand=on_hand,
        cover_days_needed=cover_days_needed,
        list_price=list_price,
        list_price_error=list_price_error,
    )
    target = target_price("s", market, CONFIG)
    assert math.isfinite(target.price) and target.price > 0


def test_stock_is_left_out_when_demand_does_not_fall_with_the_price():
    market = view(elasticity=0.017, stderr=0.012, demand_per_day=2.7e-6, on_hand=80)
    target = target_price("s", market, CONFIG)
    assert "overstock" not in target.reasons and "scarce_stock" not in target.reasons


def test_a_near_zero_elasticity_moves_the_price_by_a_finite_factor():
    market = view(elasticity=-0.001, stderr=0.0, demand_per_day=10.0, on_hand=0)
    target = target_price("s", market, CONFIG)
    assert "scarce_stock" in target.reasons
    assert target.price == pytest.approx(20 * math.exp(10.0))
