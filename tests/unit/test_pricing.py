import pytest

from realtime_mkt.policies.pricing import MarketView, PricingConfig, target_price

CONFIG = PricingConfig()


def view(**overrides):
    base = {"price": 20.0, "list_price": 20.0, "unit_cost": 10.0, "elasticity": -3.0, "stderr": 0.0, "demand_per_day": 10.0,
            "on_hand": 100, "cover_days_needed": 3.0, "day": 0}  # fmt: skip
    base.update(overrides)
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


def test_overstock_lowers_the_price_to_clear_it():
    target = target_price("s", view(on_hand=5000, unit_cost=16), CONFIG)
    # p* = 24, but 5000 units at 10/day is 500 days: sell them in 60
    assert target.price == pytest.approx(20 * (5000 / (10 * 60)) ** (-1 / 3))
    assert "overstock" in target.reasons


def test_inelastic_demand_pushes_up():
    assert target_price("s", view(elasticity=-0.6), CONFIG).price > 20


def test_uncertain_optimum_is_shrunk_toward_the_list_price():
    certain = target_price("s", view(stderr=0.0), CONFIG).price
    half = target_price("s", view(stderr=0.25), CONFIG)
    assert certain == pytest.approx(15)
    assert half.price == pytest.approx(20 * (15 / 20) ** 0.5)  # half the log-distance at SE = 0.25
    assert "shrunk_to_list_price" not in half.reasons
    vague = target_price("s", view(stderr=0.29), CONFIG)  # below the exploration threshold
    assert 15 < half.price < vague.price < 20 and "shrunk_to_list_price" in vague.reasons


def test_uncertain_elasticity_explores_on_alternate_days():
    unexplored = 20 * (15 / 20) ** (1 / (1 + (0.8 / 0.25) ** 2))
    target = target_price("s", view(stderr=0.8), CONFIG)
    ratios = {
        round(target_price("s", view(stderr=0.8, day=d), CONFIG).price / unexplored, 4)
        for d in range(0, 40, 2)
    }
    assert target.exploration and "exploration" in target.reasons
    assert ratios == {0.95, 1.05}
