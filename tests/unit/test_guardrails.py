from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_mkt.policies.guardrails import GuardrailConfig, PriceBounds, guard_price, hard_floor

CONFIG = GuardrailConfig()
prices = st.floats(min_value=0.01, max_value=10_000, allow_nan=False, allow_infinity=False)


@st.composite
def bounds(draw):
    floor = draw(prices)
    ceiling = floor * draw(st.floats(min_value=1.0, max_value=20))
    cost = draw(st.floats(min_value=0.01, max_value=ceiling))
    map_price = draw(st.none() | st.floats(min_value=floor, max_value=ceiling))
    return PriceBounds(floor, ceiling, cost, map_price)


@settings(max_examples=500)
@given(
    current=prices, proposed=st.floats(min_value=-1e6, max_value=1e9, allow_nan=False), b=bounds()
)
def test_no_guarded_price_breaks_a_guardrail(current, proposed, b):
    result = guard_price(current, proposed, b, CONFIG)
    floor = hard_floor(b, CONFIG)
    assert result.price >= floor - 1e-9  # hard floors always hold: floor, margin, MAP
    if floor <= b.ceiling:
        assert result.price <= max(b.ceiling, floor) + 0.01
    moved_by_hard_rule = result.binding_rule in ("ceiling", "floor", "margin_floor", "map")
    if not moved_by_hard_rule:
        assert abs(result.price - current) <= CONFIG.max_step * current + 0.006
    if result.clamp_trail:
        assert result.binding_rule == result.clamp_trail[-1]["rule"]
    else:
        assert result.binding_rule is None


def test_max_step_binds_a_large_cut():
    b = PriceBounds(floor=5, ceiling=50, unit_cost=4)
    result = guard_price(20, 10, b, CONFIG)
    assert result.price == 18.4
    assert result.binding_rule == "max_step"
    assert result.clamp_trail == [{"rule": "max_step", "from": 10, "to": 18.4}]


def test_margin_floor_applies_last_and_wins_over_the_step():
    b = PriceBounds(floor=5, ceiling=50, unit_cost=19)  # cost rose: 20 × 0.92 would lose money
    result = guard_price(20, 15, b, CONFIG)
    assert result.price == 19.95
    assert [c["rule"] for c in result.clamp_trail] == ["max_step", "margin_floor"]
    assert result.binding_rule == "margin_floor"


def test_map_is_a_floor_for_advertised_prices():
    b = PriceBounds(floor=5, ceiling=50, unit_cost=4, map_price=19.5)
    assert guard_price(20, 19, b, CONFIG).price == 19.5


def test_floors_above_the_ceiling_keep_the_floor():
    b = PriceBounds(floor=5, ceiling=10, unit_cost=12)
    result = guard_price(10, 10, b, CONFIG)
    assert result.price == 12.6 and result.binding_rule == "margin_floor"
