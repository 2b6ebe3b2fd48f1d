import math

import pytest

from realtime_mkt.decisions import Audience
from realtime_mkt.engine import EngineConfig, SkuEngine, forecast_factor, price_factor
from realtime_mkt.events import format_time
from realtime_mkt.policies.promo import PromoConfig, bid_multiplier, plan_promo
from realtime_mkt.sku_state import SkuState
from realtime_mkt.streaming.app import forecast_summary
from tests.helpers import T0, EngineRun, assert_valid, catalog, demand_history, inventory

CONFIG = PromoConfig()
LEAD_TIME_DAYS, CARRYING_RATE = 3, 0.25


def overstock_plan(list_price, reference_price, stock, demand_per_day, hard_floor):
    """`plan_promo` for a SKU with a 3-day lead time held at 25 % a year."""
    return plan_promo(
        list_price,
        reference_price,
        stock,
        demand_per_day,
        LEAD_TIME_DAYS,
        CARRYING_RATE,
        hard_floor,
        CONFIG,
    )


def test_no_promotion_without_overstock():
    plan = overstock_plan(20, 20, stock=100, demand_per_day=10, hard_floor=11)
    assert plan.discount == 0 and plan.reasons == []


def test_the_discount_is_what_holding_the_stock_costs():
    plan = overstock_plan(20, 20, stock=2000, demand_per_day=10, hard_floor=11)
    # 200 days of cover: the last unit waits 197 days past the lead time, 25 %/year of its cost
    assert plan.discount == pytest.approx(1 - math.exp(-0.25 * 197 / 365), abs=1e-4)
    assert plan.promo_price == pytest.approx(20 * (1 - plan.discount), abs=0.01)
    # past the 60 days that start a promotion, 70 days of cover save 4.4 %: less than the least
    # discount worth advertising, so no promotion
    mild = overstock_plan(20, 20, stock=700, demand_per_day=10, hard_floor=11)
    assert mild.discount == 0 and mild.reasons == []


def test_the_cut_is_taken_from_the_list_price_and_advertised_against_the_30_day_low():
    # list 24 after a rise from 20: 80 days of cover cut it 5.1 % to 22.78, above the 30-day
    # low, so there is no discount to advertise (the list price's own markdown is the lever)
    risen = overstock_plan(24, 20, stock=800, demand_per_day=10, hard_floor=11)
    assert risen.discount == 0 and risen.reasons == ["no_discount_on_30d_low"]
    # list 16 after a markdown from 20 (a running promotion keeps its reference): the price is
    # 16 cut 5.1 %, advertised as 24 % off the 20 it was before the promotion
    marked_down = overstock_plan(16, 20, stock=800, demand_per_day=10, hard_floor=11)
    cut = 1 - math.exp(-0.25 * 77 / 365)
    assert marked_down.promo_price == pytest.approx(16 * (1 - cut), abs=0.01)
    assert marked_down.discount == pytest.approx(1 - marked_down.promo_price / 20, abs=1e-3)
    assert marked_down.reference_price == 20


def test_discount_is_clipped_to_the_policy_range_and_the_floor():
    deep = overstock_plan(20, 20, stock=100_000, demand_per_day=1, hard_floor=5)
    assert deep.discount == CONFIG.max_discount
    floored = overstock_plan(20, 20, stock=100_000, demand_per_day=1, hard_floor=17)
    assert floored.discount == pytest.approx(0.15) and floored.promo_price >= 17
    assert "clamped_by_hard_floor" in floored.reasons
    none = overstock_plan(20, 20, stock=100_000, demand_per_day=1, hard_floor=19.5)
    assert none.discount == 0
    assert none.reasons == ["discount_below_minimum_within_guardrails"]


def test_bid_multiplier_is_value_based_and_clipped():
    assert bid_multiplier(2.0, 6.0, 10.0, CONFIG) == pytest.approx(1.2)
    assert bid_multiplier(100.0, 10.0, 10.0, CONFIG) == 10.0
    assert bid_multiplier(0.001, 1.0, 10.0, CONFIG) == 0.1


def overstocked_run(audience=None) -> tuple[EngineRun, list]:
    run = EngineRun(SkuEngine(audience=audience) if audience else None)
    run.feed(
        [("catalog", catalog("s")), ("inventory", inventory("open", T0, "s", "snapshot", 2000))]
    )
    outputs = run.feed(demand_history("s", [10] * 14))
    return run, [o.value for o in outputs if o.topic == "promo-adjustments"]


def test_overstock_starts_then_expiry_stops_a_promotion():
    _, promos = overstocked_run()
    actions = [p["action"] for p in promos]
    stop = actions.index("stop")  # updates in between follow the regular price as it falls
    assert actions[0] == "start" and set(actions[1:stop]) <= {"update"}
    assert promos[stop]["reason_codes"] == ["promotion_expired"]  # and no audience to speak of
    start = promos[0]
    assert 5 <= start["discount_pct"] <= 30
    assert start["reference_price_30d_min"] <= 20.0
    assert start["promo_price"] >= 11.0  # catalog floor (above cost × 1.05)
    assert start["audience"] == {"segment": "category:toys", "size": 0}
    assert "audience_model_cold" in start["reason_codes"]
    for p in promos:
        assert_valid("promo-adjustments.v1", p)


def test_audience_and_bid_come_from_the_user_models():
    def audience(sku_id, size):
        return Audience(["u3", "u1"], 0.04, 0.02)

    _, promos = overstocked_run(audience)
    start = promos[0]
    assert start["audience"] == {"user_ids": ["u3", "u1"], "size": 2}
    assert start["predicted_ctr"] == 0.04
    margin_ratio = (start["promo_price"] - 10.0) / (start["reference_price_30d_min"] - 10.0)
    assert start["bid_multiplier"] == pytest.approx(min(2.0 * margin_ratio, 10), abs=1e-3)


def test_reference_price_is_the_lowest_of_the_last_30_days():
    run, _ = overstocked_run()
    state = run.states()["s"]
    days = [d for d, _ in state.daily_min_price]
    assert max(days) - min(days) < 30
    assert state.reference_price_30d_min == min(p for _, p in state.daily_min_price)


def test_a_promotion_cuts_the_list_price_and_keeps_the_reference_it_started_with():
    run = EngineRun()
    run.feed(
        [("catalog", catalog("s")), ("inventory", inventory("open", T0, "s", "snapshot", 2000))]
    )
    list_price, reference, running = 20.0, None, 0
    for output in run.feed(demand_history("s", [10] * 14)):
        p = output.value
        if output.topic == "price-adjustments":  # decided before the promotion, in one event
            list_price = p["new_price"]
        elif output.topic == "promo-adjustments" and p["action"] != "stop":
            running += 1
            assert p["promo_price"] <= round(list_price * (1 - CONFIG.min_discount), 2) + 0.01
            advertised = 100 * (1 - p["promo_price"] / p["reference_price_30d_min"])
            # the price is rounded to the cent and the percentage to two places
            cent = 0.005 + 0.5 / p["reference_price_30d_min"]
            assert p["discount_pct"] == pytest.approx(advertised, abs=cent)
            if p["action"] == "start":
                reference = p["reference_price_30d_min"]
                assert reference <= list_price
            assert p["reference_price_30d_min"] == reference
    assert running >= 2  # a start and at least one update


def test_the_30_day_low_and_the_forecast_count_the_promotional_price():
    run, promos = overstocked_run()
    state = run.states()["s"]
    promo_prices = {p["promo_price"] for p in promos if p["action"] != "stop"}
    assert promo_prices & {price for _, price in state.daily_min_price}
    assert state.price is not None
    state.promo = {"discount": 0.2, "until": 0, "price": state.price - 2, "reference": state.price}
    assert state.selling_price == state.price - 2
    ratio = forecast_factor(state) / forecast_factor(state, state.price)
    assert ratio == pytest.approx(
        price_factor(state, state.price - 2) / price_factor(state, state.price)
    )
    assert ratio > 1  # demand is forecast at the price shoppers pay


def test_the_forecast_view_is_for_tomorrow_at_the_price_shoppers_pay():
    run, _ = overstocked_run()
    state = run.states()["s"]
    assert state.price is not None and state.demand.day is not None
    state.promo = None
    plain = forecast_summary(state)
    assert plain["price"] == state.price
    assert plain["day"] == format_time((state.demand.day + 1) * 86_400)[:10]
    state.promo = {
        "discount": 0.2,
        "until": 0,
        "price": state.price * 0.8,
        "reference": state.price,
    }
    promoted = forecast_summary(state)
    assert promoted["price"] == state.price * 0.8
    response = state.elasticity.own_price_response()[0]
    assert promoted["mean_per_day"] / plain["mean_per_day"] == pytest.approx(0.8**response)
    assert promoted["mean_per_day_at_list_price"] == plain["mean_per_day_at_list_price"]


def test_a_promotion_stored_before_its_reference_was_kept_runs_on():
    run, _ = overstocked_run()
    stored = run.table["s"]
    lows = [p for _, p in stored["pmin"]]
    stored["promo"] = {"discount": 0.2, "until": max(d for d, _ in stored["pmin"]) + 3}
    state = SkuState.from_dict(stored)
    assert state.promo is not None and state.promo["reference"] == min(lows)
    assert state.selling_price == min(state.price, round(min(lows) * 0.8, 2))
    next_day = demand_history("s", [10], start=T0 + 14 * 86_400, prefix="late-")
    run.feed(next_day)  # a new day re-evaluates the promotion without failing
    assert run.states()["s"].demand.n > 0


def test_stock_on_order_counts_toward_overstock_as_it_does_for_pricing():
    run = EngineRun(SkuEngine(EngineConfig(dynamic_pricing=False)))
    run.feed(
        [("catalog", catalog("s")), ("inventory", inventory("open", T0, "s", "snapshot", 400))]
    )
    quiet = run.feed(demand_history("s", [10] * 14))  # 400 on hand: under 60 days of cover
    assert not [o for o in quiet if o.topic == "promo-adjustments"]
    run.table["s"]["out"] = {"a-large-order": 1500}  # on its way: 190 days of cover in all
    later = run.feed(demand_history("s", [10], start=T0 + 14 * 86_400, prefix="next-"))
    assert [o.value["action"] for o in later if o.topic == "promo-adjustments"] == ["start"]
