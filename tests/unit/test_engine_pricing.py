"""Price decisions through the engine: contract, guardrails under any input, no spirals, breakers."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_mkt.engine import EngineConfig, MarketBreaker, SkuEngine
from realtime_mkt.events import format_time, parse_time
from realtime_mkt.policies.guardrails import GuardrailConfig, PriceBounds, hard_floor
from realtime_mkt.policies.pricing import PricingConfig
from realtime_mkt.streaming.app import sku_summary
from tests import helpers
from tests.helpers import (
    DAY,
    T0,
    EngineRun,
    assert_valid,
    demand_history,
    inventory,
    order,
    priced_demand,
    replay,
)

GUARD = GuardrailConfig()


def price_change(
    event_id: str, ts: float, sku: str, kind: str, price: float, competitor: str = "rival"
) -> dict:
    value = {
        "event_id": event_id,
        "occurred_at": format_time(ts),
        "sku_id": sku,
        "kind": kind,
        "price": price,
    }
    if kind == "competitor":
        value["competitor_id"] = competitor
    return value


def opening(sku: str = "s", stock: int = 200, **cat) -> list:
    return helpers.opening(sku, stock, **cat)


def prices_of(outputs) -> list[dict]:
    return [o.value for o in outputs if o.topic == "price-adjustments"]


def test_price_decisions_carry_their_explanation_and_validate():
    _, outputs = replay(SkuEngine(), opening() + demand_history("s", [10] * 20))
    decisions = prices_of(outputs)
    assert decisions
    for d in decisions:
        assert_valid("price-adjustments.v1", d)
        assert d["reason_codes"] and d["model_version"]
        assert d["elasticity"]["stderr"] > 0
        assert d["list_price_error"] == 0.1  # one SKU, and a vague one: the prior's


def test_exploration_waits_while_the_price_has_spread_enough():
    history = opening() + demand_history("s", [10] * 20)
    _, outputs = replay(SkuEngine(), history)
    assert any(d["exploration"] for d in prices_of(outputs))
    # a price spread of 0 is always enough: the same SKU is never explored
    spread_enough = EngineConfig(pricing=PricingConfig(exploration_spread=0.0))
    _, outputs = replay(SkuEngine(spread_enough), history)
    assert prices_of(outputs) and not any(d["exploration"] for d in prices_of(outputs))


def stream_input(i: int, ts: float, kind: str, price: float, quantity: int) -> tuple[str, dict]:
    """The `i`-th input of a drawn stream: an order, a receipt or a price change of SKU `s`."""
    if kind == "order":
        return ("orders", order(f"o{i}", ts, [("s", quantity)]))
    if kind == "receipt":
        return ("inventory", inventory(f"r{i}", ts, "s", "receipt", quantity))
    return ("price-changes", price_change(f"p{i}", ts, "s", kind, price))


events = st.lists(
    st.tuples(
        st.sampled_from(["order", "competitor", "cost", "receipt"]),
        st.floats(min_value=0.01, max_value=500, allow_nan=False),
        st.integers(min_value=1, max_value=40),
    ),
    min_size=5,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=events)
def test_no_price_decision_violates_a_guardrail_for_any_input(stream):
    inputs = opening(stock=50)
    inputs += [stream_input(i, T0 + i * DAY / 3, *step) for i, step in enumerate(stream)]
    _, outputs = replay(SkuEngine(), inputs)
    decisions = prices_of(outputs)
    for d in decisions:
        assert_valid("price-adjustments.v1", d)
        bounds = PriceBounds(11.0, 30.0, d["unit_cost"], None)
        assert d["new_price"] >= hard_floor(bounds, GUARD) - 1e-9
        if hard_floor(bounds, GUARD) <= 30.0:
            assert d["new_price"] <= 30.0
        if d["binding_rule"] not in ("ceiling", "floor", "margin_floor", "map"):
            assert (
                abs(d["new_price"] - d["current_price"])
                <= GUARD.max_step * d["current_price"] + 0.006
            )
    times = [parse_time(d["occurred_at"]) for d in decisions]
    assert all(b - a >= GUARD.cooldown_hours * 3600 for a, b in itertools.pairwise(times))


def test_competing_repricers_cannot_spiral_the_price():
    # a rival reprices to ×1.270589 of our price after each of our moves (the 2011 book spiral)
    run = EngineRun()
    decisions = prices_of(run.feed(opening(stock=5000) + demand_history("s", [10] * 3)))
    ours = 20.0
    for day in range(3, 120):
        ts = T0 + day * DAY
        rival = price_change(f"rival-{day}", ts + 10, "s", "competitor", round(ours * 1.270589, 2))
        new = prices_of(
            run.feed([("price-changes", rival), ("orders", order(f"d{day}", ts + 20, [("s", 10)]))])
        )
        decisions += new
        ours = new[-1]["new_price"] if new else ours
    assert decisions
    assert all(11.0 <= d["new_price"] <= 30.0 for d in decisions)
    assert len(decisions) <= 120  # at most one change a day (cooldown)
    assert run.states()["s"].price <= 30.0


def test_absurd_competitor_price_is_held_and_ignored():
    run = EngineRun()
    run.feed(opening() + demand_history("s", [10] * 5))
    outputs = run.feed(
        [("price-changes", price_change("p1", T0 + 5 * DAY, "s", "competitor", 0.01))]
    )
    assert prices_of(outputs) == []
    assert run.held == [("s", "circuit_breaker_absurd_competitor_price")]
    assert run.states()["s"].competitor_prices == {}


def test_circuit_breaker_holds_when_most_skus_would_move_at_once():
    skus = [f"s{i:02d}" for i in range(30)]
    run = EngineRun()
    # 100 days of stock: the holding it costs moves every SKU down at once, whichever way its
    # exploration points
    run.feed([x for sku in skus for x in opening(sku, stock=1000)])
    moved = prices_of(
        run.feed([x for sku in skus for x in demand_history(sku, [10] * 4, prefix=f"{sku}-")])
    )
    assert ("s29", "circuit_breaker_many_skus_moving") in run.held
    window = GUARD.breaker_window_hours * 3600
    times = [(parse_time(m["occurred_at"]), m["sku_id"]) for m in moved]
    for t, _ in times:
        recent = {sku for u, sku in times if t - window <= u <= t}
        assert len(recent) <= GUARD.breaker_share * len(skus)


def test_the_market_breaker_forgets_moves_older_than_its_window():
    breaker = MarketBreaker(GUARD)
    breaker.known_skus = 20  # trips past half of them
    for i in range(10):
        breaker.record(0.0, f"s{i}")
    breaker.record(0.0, "s0")  # a second move of one SKU: still 10 SKUs moving
    assert breaker.would_trip(0.0)  # an 11th SKU would exceed the share
    window = GUARD.breaker_window_hours * 3600
    assert not breaker.would_trip(window + 1.0)
    assert not breaker.moving and not breaker.moves  # nothing kept from before the window


def test_the_normal_replenishment_cycle_is_not_read_as_scarcity():
    """Restock lets the inventory position fall to its reorder point μ·L + safety stock before
    it orders; stock that still covers the lead time must not raise the price. (Deliveries come
    at the start of day L after the request, demand in four orders a day.)"""
    run, lead_time = EngineRun(), 2
    outputs = run.feed(opening(stock=40, lead_time_days=lead_time))
    arrivals: dict[int, list[dict]] = {}
    pattern = [10, 12, 8, 11, 9, 10, 13, 7]
    for day in range(60):
        receipts = [
            ("inventory", inventory(
                f"rcv-{day}-{n}", T0 + day * DAY + 60, "s", "receipt", request["quantity"],
                decision_id=request["decision_id"],
            ))
            for n, request in enumerate(arrivals.pop(day, []))
        ]  # fmt: skip
        price = run.states()["s"].price  # demand answers the price as the category prior says
        units = round(pattern[day % len(pattern)] * (price / 20.0) ** -2.62)
        sales = [  # the day's demand in four orders
            ("orders", order(f"d{day}-{k}", T0 + day * DAY + (k + 1) * 17_000, [("s", q)]))
            for k, q in enumerate([units // 4 + (k < units % 4) for k in range(4)])
        ]
        new = run.feed(receipts + sales)
        for out in new:
            if out.topic == "restock-requests":
                arrivals.setdefault(day + lead_time, []).append(out.value)
        outputs += new
    assert run.states()["s"].cycles.stockouts <= 2  # restock kept the shelf stocked
    decisions = prices_of(outputs)
    assert len(decisions) > 10
    assert not [d for d in decisions if "scarce_stock" in d["reason_codes"]]


promo_events = st.lists(  # mostly sales over weeks, prices near the SKU's: promotions start
    st.tuples(
        st.sampled_from(["order", "order", "order", "competitor", "cost", "receipt"]),
        st.floats(min_value=1, max_value=40, allow_nan=False),
        st.integers(min_value=1, max_value=40),
    ),
    min_size=20,
    max_size=90,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=promo_events, stock=st.integers(min_value=300, max_value=20_000))
def test_no_promotion_violates_a_guardrail_for_any_input(stream, stock):
    run = EngineRun(SkuEngine())
    run.feed(opening(stock=stock))
    cost, list_price = 10.0, 20.0
    for i, (kind, price, quantity) in enumerate(stream):
        cost = price if kind == "cost" else cost
        for output in run.feed([stream_input(i, T0 + i * DAY / 2, kind, price, quantity)]):
            d = output.value
            if output.topic == "price-adjustments":
                list_price = d["new_price"]
            elif output.topic == "promo-adjustments" and d["action"] != "stop":
                assert_valid("promo-adjustments.v1", d)
                floor = hard_floor(PriceBounds(11.0, 30.0, cost, None), GUARD)
                assert d["promo_price"] >= floor - 1e-9
                assert d["promo_price"] <= list_price * 0.95 + 0.01  # a real cut
                assert d["discount_pct"] >= 5.0 - 0.01  # and a real discount on the 30-day low


def test_the_sku_view_shows_where_pricing_starts_from():
    engine = SkuEngine()
    for _ in range(30):  # the partition's other SKUs: list prices 30 % from their optimum
        engine.list_price_error.update(None, 0.09)
    states, outputs = replay(engine, opening() + priced_demand("s", range(20)))
    assert engine.list_price_error.sums()[0] == 31  # "s" takes part too
    sigma = engine.list_price_error.value()
    own = states["s"].list_price_distance
    assert sigma == pytest.approx(math.sqrt((10 * 0.1**2 + 30 * 0.09 + own) / 41))
    assert prices_of(outputs)[-1]["list_price_error"] == round(sigma, 4)
    state = states["s"]
    response, stderr, _ = engine.price_response(state)
    shown = sku_summary(engine, state, engine.decisions)["pricing"]
    # no other SKU of its category: the list price alone is where pricing starts
    assert shown == {
        "list_price": 20.0,
        "anchor": {"price": 20.0, "error": round(sigma, 4), "list_share": 1.0},
        "optimum_price": pytest.approx(10.0 * response / (1 + response)),
        "optimum_weight": pytest.approx(
            sigma**2 / (sigma**2 + (stderr / (response * (1 + response))) ** 2)
        ),
        "list_price_error": sigma,
    }
    # the view of a SKU of another partition weighs with that partition's pool
    elsewhere = sku_summary(engine, state, engine.decisions, {})["pricing"]
    assert elsewhere["list_price_error"] == 0.1
