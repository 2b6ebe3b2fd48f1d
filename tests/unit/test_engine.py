import math

import numpy as np
import pytest

from realtime_mkt.decision_log import DecisionLog
from realtime_mkt.engine import (
    MAX_DAYS_AHEAD,
    EngineConfig,
    SkuEngine,
    closing_day,
    price_factor,
    tick,
)
from realtime_mkt.models.daily_demand import DailyDemand, day_of
from realtime_mkt.policies.cycle_service import POOL_RATE, POOL_SIGNAL_MAX, RATE
from realtime_mkt.policies.restock import safety_factor
from realtime_mkt.streaming.app import sku_summary
from realtime_mkt.streaming.read_progress import EARLIEST
from tests.helpers import (
    DAY,
    T0,
    EngineRun,
    assert_valid,
    catalog,
    demand_history,
    inventory,
    iso_week_days,
    opening,
    order,
    replay,
    sku_inputs,
)

DAYS = [10, 12, 8, 11, 9, 10, 13, 7, 10, 12]


def restocks(engine, inputs):
    states, outputs = replay(engine, inputs)
    return states, [o for o in outputs if o.topic == "restock-requests"]


def market(sku: str = "sku-1", stock: int = 80, **cat) -> list:
    return opening(sku, stock, **cat)


def test_first_restock_matches_the_closed_form():
    inputs = market() + demand_history("sku-1", DAYS)
    # prices held at list: the demand forecast is then the plain sample mean of the learned days
    _, outputs = restocks(SkuEngine(EngineConfig(dynamic_pricing=False)), inputs)
    first = outputs[0].value
    day = next(
        i
        for i, (_, o) in enumerate(inputs[2:])
        if o["event_id"] == first["trigger_event_id"].split("#")[0]
    )
    learned = DAYS[:day]
    # the demand model's σ on those days: the sample spread, widened while young and calibrated
    demand = DailyDemand()
    for offset, units in enumerate(learned):
        demand.advance(offset, stocked_out=False)
        demand.add_sale(units, 1.0)
    demand.advance(len(learned), stocked_out=False)
    mean, std = demand.forecast()
    assert mean == pytest.approx(np.mean(learned)) and std > np.std(learned, ddof=1)
    lead_time, review = 2, 1
    order_up_to = mean * (lead_time + review) + safety_factor(0.95) * std * math.sqrt(lead_time)
    position = 80 - sum(DAYS[: day + 1])
    assert first["forecast"]["mean_per_day"] == pytest.approx(mean, abs=1e-4)
    assert first["forecast"]["std_per_day"] == pytest.approx(std, abs=1e-4)
    assert first["order_up_to"] == pytest.approx(order_up_to, abs=1e-3)
    assert first["reorder_point"] == pytest.approx(order_up_to - mean, abs=1e-3)
    assert first["inventory_position"] == position <= first["reorder_point"]
    assert first["quantity"] == math.ceil(order_up_to - position)
    assert first["on_hand"] == position and first["on_order"] == 0
    assert first["occurred_at"] == inputs[2 + day][1]["occurred_at"]


def test_every_restock_request_validates_and_carries_the_contract():
    _, outputs = restocks(SkuEngine(), market(order_multiple=6) + demand_history("sku-1", DAYS * 3))
    assert outputs
    for out in outputs:
        assert out.topic == "restock-requests" and out.key == "sku-1"
        assert_valid("restock-requests.v1", out.value)
        assert out.value["quantity"] % 6 == 0


def test_no_second_request_while_the_first_covers_the_need():
    history = market(stock=40) + demand_history("sku-1", DAYS[:5])
    states, outputs = restocks(SkuEngine(), history)
    assert len(outputs) == 1
    request = outputs[0].value
    # placing the request lifts the position to S; events that do not consume stock add nothing
    assert request["inventory_position"] + request["quantity"] >= request["order_up_to"]
    price = {
        "event_id": "px",
        "occurred_at": history[-1][1]["occurred_at"],
        "sku_id": "sku-1",
        "kind": "competitor",
        "price": 19.0,
        "competitor_id": "r",
    }
    adjustment = inventory("adj", T0 + 4 * DAY + 50_000, "sku-1", "adjustment", 0)
    _, again = restocks(
        SkuEngine(), [*history, ("price-changes", price), ("inventory", adjustment)]
    )
    assert [o.value for o in again] == [request]
    assert states["sku-1"].on_order == request["quantity"]


def test_later_requests_only_follow_new_demand():
    states, outputs = restocks(SkuEngine(), market() + demand_history("sku-1", DAYS * 2))
    assert len(outputs) > 1
    for request in (o.value for o in outputs):
        assert request["inventory_position"] <= request["reorder_point"]
        assert request["inventory_position"] + request["quantity"] >= request["order_up_to"]
    assert states["sku-1"].on_order == sum(o.value["quantity"] for o in outputs)


def test_receipt_of_a_request_clears_its_on_order():
    history = market(stock=40) + demand_history("sku-1", DAYS[:5])
    states, outputs = restocks(SkuEngine(), history)
    request = outputs[0].value
    receipt = inventory(
        "rcv",
        T0 + 5 * DAY,
        "sku-1",
        "receipt",
        request["quantity"],
        decision_id=request["decision_id"],
    )
    after, after_outputs = restocks(SkuEngine(), [*history, ("inventory", receipt)])
    assert [o.value for o in after_outputs[: len(outputs)]] == [o.value for o in outputs]
    # the receipt is a reason to look at the stock again: what it orders goes on order
    ordered_since = sum(o.value["quantity"] for o in after_outputs[len(outputs) :])
    assert request["decision_id"] not in after["sku-1"].outstanding
    assert after["sku-1"].on_order == (
        states["sku-1"].on_order - request["quantity"] + ordered_since
    )
    assert after["sku-1"].net_stock == states["sku-1"].net_stock + request["quantity"]


def test_a_cycle_that_sold_out_raises_the_safety_factor_of_later_requests():
    # 40 units run out on the fourth day; the receipt on day 5 ends that cycle
    history = market(stock=40) + demand_history("sku-1", DAYS[:5])
    states, outputs = restocks(SkuEngine(), history)
    request = outputs[0].value
    assert request["cycle_service"] == {
        "safety_factor": pytest.approx(safety_factor(0.95), abs=1e-4),
        "cycles": 0,
        "stocked_out_cycles": 0,
        "lead_time_correction": 0.0,
    }
    assert states["sku-1"].cycles.stocked_out
    receipt = inventory(
        "rcv", T0 + 5 * DAY, "sku-1", "receipt", 200, decision_id=request["decision_id"]
    )
    later = demand_history("sku-1", [40] * 6, start=T0 + 5 * DAY, prefix="later")
    states, outputs = restocks(SkuEngine(), [*history, ("inventory", receipt), *later])
    after = [o.value for o in outputs if o.value["occurred_at"] > receipt["occurred_at"]]
    assert after
    assert_valid("restock-requests.v1", after[0])
    # four days of errors make the young SKU's tracking signal lean to one side: its own
    # correction learned from the cycle, its lead time's did not
    assert states["sku-1"].demand.tracking_signal >= POOL_SIGNAL_MAX
    assert after[0]["cycle_service"] == {
        "safety_factor": pytest.approx(safety_factor(0.95) + RATE * 0.95, abs=1e-4),
        "cycles": 1,
        "stocked_out_cycles": 1,
        "lead_time_correction": 0.0,
    }
    assert states["sku-1"].cycles.offset == pytest.approx(RATE * 0.95)
    assert sku_summary(SkuEngine(), states["sku-1"], DecisionLog())[
        "cycle_service"
    ] == {  # the `/sku/<id>` view
        "safety_factor": pytest.approx(safety_factor(0.95) + RATE * 0.95),
        "z_correction": pytest.approx(RATE * 0.95),
        "lead_time_correction": 0.0,
        "cycles": 1,
        "stocked_out_cycles": 1,
    }


def test_a_cycle_that_sold_out_raises_the_safety_factor_of_skus_with_the_same_lead_time():
    run = EngineRun()
    outputs = run.feed(market(stock=40) + demand_history("sku-1", DAYS[:5]))
    request = next(o.value for o in outputs if o.topic == "restock-requests")
    run.table["sku-1"]["dem"][9:11] = [0.0, 4.0]  # forecast errors on both sides: signal 0
    run.feed(
        [
            (
                "inventory",
                inventory(
                    "rcv", T0 + 5 * DAY, "sku-1", "receipt", 200, decision_id=request["decision_id"]
                ),
            )
        ]
    )

    sent: dict[str, list] = {}

    def first_request(sku: str, lead_time: int) -> dict:
        history = market(sku, stock=100, lead_time_days=lead_time)
        outputs = run.feed(history + demand_history(sku, DAYS * 2, start=T0 + 5 * DAY, prefix=sku))
        sent[sku] = outputs
        return next(o.value for o in outputs if o.topic == "restock-requests")["cycle_service"]

    alike, other = first_request("sku-2", 2), first_request("sku-3", 7)
    assert alike["lead_time_correction"] == pytest.approx(POOL_RATE * 0.95)
    assert alike["safety_factor"] == pytest.approx(safety_factor(0.95) + POOL_RATE * 0.95, abs=1e-4)
    assert alike["cycles"] == 0  # sku-2 has no record of its own yet, only its lead time's
    assert other["lead_time_correction"] == 0.0
    assert other["safety_factor"] == pytest.approx(safety_factor(0.95), abs=1e-4)
    # the `/sku/<id>` view shows the pooled part too, as of the SKU's last event
    summary = sku_summary(run.engine, run.states()["sku-2"], run.engine.decisions)
    viewed = summary["cycle_service"]
    assert viewed["lead_time_correction"] == pytest.approx(POOL_RATE * 0.95)
    assert viewed["safety_factor"] == pytest.approx(alike["safety_factor"], abs=1e-4)
    assert viewed["z_correction"] == 0.0
    shown = [(d["topic"], d["decision_id"]) for d in summary["last_decisions"]]
    assert (sent["sku-2"][-1].topic, sent["sku-2"][-1].value["decision_id"]) in shown


def test_a_sku_whose_forecast_errors_lean_to_one_side_does_not_teach_its_lead_time():
    def pooled_after_a_stockout(signal: float) -> tuple[float, float]:
        run = EngineRun()
        outputs = run.feed(market(stock=40) + demand_history("sku-1", DAYS[:5]))
        request = next(o.value for o in outputs if o.topic == "restock-requests")
        demand = run.table["sku-1"]["dem"]
        demand[9:11] = [signal * 4.0, 4.0]  # smoothed error and absolute error: the signal
        receipt = inventory(
            "rcv", T0 + 5 * DAY, "sku-1", "receipt", 200, decision_id=request["decision_id"]
        )
        run.feed([("inventory", receipt)])
        return run.engine.cycle_pool.offset(2), run.states()["sku-1"].cycles.offset

    assert pooled_after_a_stockout(0.2) == (pytest.approx(POOL_RATE * 0.95), RATE * 0.95)
    # the SKU's own mean is off: its correction learns, its lead time's does not
    assert pooled_after_a_stockout(POOL_SIGNAL_MAX) == (0.0, RATE * 0.95)


def test_an_ended_cycle_is_reported_once_with_its_outcome():
    engine = SkuEngine()
    run = EngineRun(engine)
    run.feed(market(stock=40) + demand_history("sku-1", DAYS[:5]))  # sells out on day 4
    receipts = [
        inventory(f"rcv-{n}", T0 + day * DAY, "sku-1", "receipt", 30)
        for n, day in enumerate((5, 5, 6))  # two receipts on day 5 end one cycle
    ]
    states = {"sku-1": run.states()["sku-1"]}
    cycles = []
    for receipt in [*receipts, receipts[0]]:  # the last one is a redelivery
        outcome = engine.apply(states["sku-1"], sku_inputs("inventory", receipt)[0])
        states["sku-1"] = outcome.state
        cycles.append(outcome.cycle)
    assert cycles == ["stocked_out", None, "clean", None]


def test_duplicate_events_change_nothing_and_send_nothing():
    history = demand_history("sku-1", DAYS[:6])
    once, out_once = restocks(SkuEngine(), market() + history)
    twice, out_twice = restocks(
        SkuEngine(), market() + [x for pair in zip(history, history, strict=True) for x in pair]
    )
    assert out_once and twice["sku-1"].to_dict() == once["sku-1"].to_dict()
    # a stored input's decisions were delivered before it was stored: a redelivery sends none
    assert [o.value for o in out_twice] == [o.value for o in out_once]


def test_decision_ids_are_deterministic_across_replays():
    inputs = market() + demand_history("sku-1", DAYS)
    first = [o.value["decision_id"] for o in restocks(SkuEngine(), inputs)[1]]
    second = [o.value["decision_id"] for o in restocks(SkuEngine(), inputs)[1]]
    assert first == second and len(set(first)) == len(first)


def test_no_decision_before_catalog_or_enough_history():
    _, outputs = restocks(
        SkuEngine(),
        [("inventory", inventory("s", T0, "sku-1", "snapshot", 0)), *demand_history("sku-1", DAYS)],
    )
    assert outputs == []
    _, outputs = restocks(
        SkuEngine(EngineConfig(min_history_days=30)), market() + demand_history("sku-1", DAYS)
    )
    assert outputs == []


def test_cancellation_restores_stock_and_demand():
    placed = order("a", T0 + 100, [("sku-1", 4)])
    cancelled = order("a-cancel", T0 + 200, [("sku-1", 4)], status="cancelled")
    states, _ = restocks(SkuEngine(), [*market(), ("orders", placed), ("orders", cancelled)])
    assert states["sku-1"].net_stock == 80
    assert states["sku-1"].demand.units == 0


def test_out_of_stock_days_are_not_learned():
    # 5 units of stock, demand 10 a day: every day after the first is censored
    states, _ = restocks(SkuEngine(), market(stock=5) + demand_history("sku-1", [3, 10, 10, 10]))
    assert states["sku-1"].demand.n == 1
    assert states["sku-1"].demand.level == pytest.approx(3)


def test_the_time_out_of_stock_runs_from_the_order_that_emptied_it_to_the_receipt():
    """The share of the day's demand missed is read off when the partition's orders come (the
    intraday profile: a uniform prior of 10 units an hour, plus these orders' units)."""
    hour = 3600
    sales = [
        *market(stock=5),
        ("orders", order("early", T0 + 6 * hour, [("sku-1", 2)])),
        ("orders", order("last", T0 + 12 * hour, [("sku-1", 3)])),
    ]
    states, _ = restocks(engine := SkuEngine(), sales)
    demand = states["sku-1"].demand
    assert (demand.out_since, demand.beyond_stock) == (12 * hour, 3)
    # out from 12:00: hours 12-23 of the prior and the 3 units ordered at 12:00
    assert demand.in_stock_share(engine.intraday.share) == pytest.approx(1 - 123 / 245)
    receipt = inventory("rcv", T0 + 18 * hour, "sku-1", "receipt", 10)
    states, _ = restocks(engine := SkuEngine(), [*sales, ("inventory", receipt)])
    in_stock = states["sku-1"].demand.in_stock_share(engine.intraday.share)
    assert in_stock == pytest.approx(1 - 63 / 245)  # out from 12:00 to 18:00


def test_a_sparse_event_days_ahead_closes_no_day_of_its_sku():
    # a backlog read unevenly: a stock count stamped day 3 is applied before day 1's orders
    count = inventory("count", T0 + 3 * DAY + 50, "sku-1", "adjustment", 0)
    run = EngineRun()
    run.feed(
        [
            *market(),
            ("orders", order("d0", T0 + 100, [("sku-1", 2)])),
            ("inventory", count),
            ("orders", order("d1", T0 + DAY + 100, [("sku-1", 3)])),
        ]
    )
    state = run.states()["sku-1"]
    assert not any(run.late)
    assert state.demand.day == day_of(T0) + 1 and state.demand.units == 3
    assert state.demand.n == 1  # day 0 learned once day 1's sale came, with its 2 units


def test_a_line_of_a_day_a_later_sale_closed_is_late_and_counts_in_the_open_day():
    run = EngineRun()
    run.feed(
        [
            *market(),
            ("orders", order("d0", T0 + 100, [("sku-1", 2)])),
            ("orders", order("d3", T0 + 3 * DAY + 100, [("sku-1", 4)])),
            ("orders", order("d1", T0 + DAY + 100, [("sku-1", 3)])),
            ("orders", order("d1-off", T0 + DAY + 200, [("sku-1", 1)], status="cancelled")),
            ("orders", order("d1-back", T0 + DAY + 300, [("sku-1", 1)], status="returned")),
        ]
    )
    state = run.states()["sku-1"]
    assert run.late == [False, False, False, False, True, True, False]
    assert state.demand.day == day_of(T0) + 3 and state.demand.units == 4 + 3 - 1


def test_while_orders_may_still_come_a_skus_first_day_is_that_of_its_earliest_sale():
    run = EngineRun()
    run.feed(market())
    first_sales = [
        ("orders", order("d3", T0 + 3 * DAY + 100, [("sku-1", 4)])),
        ("orders", order("d1", T0 + DAY + 100, [("sku-1", 3)])),
    ]
    run.feed(first_sales, closing_bound=day_of(T0))
    run.feed([("orders", order("d4", T0 + 4 * DAY + 100, [("sku-1", 5)]))])
    demand = run.states()["sku-1"].demand
    assert not any(run.late)
    assert demand.n == 3 and demand.level == pytest.approx((3 + 0 + 4) / 3)
    assert (demand.day, demand.units) == (day_of(T0) + 4, 5)
    # with every order read as it came, an earlier line is late even before any day is learned
    live = EngineRun()
    live.feed([*market(), *first_sales])
    assert live.late[-1] and live.states()["sku-1"].demand.day == day_of(T0) + 3


def test_days_whose_orders_may_still_come_stay_open_and_their_sales_count_on_their_own_day():
    # two orders partitions read at different paces: day 3's line comes before day 1's, while
    # the closing bound says orders of day 1 may still come
    run = EngineRun()
    run.feed(market())
    run.feed(
        [
            ("orders", order("d0", T0 + 100, [("sku-1", 2)])),
            ("orders", order("d3", T0 + 3 * DAY + 100, [("sku-1", 4)])),
            ("orders", order("d1", T0 + DAY + 100, [("sku-1", 3)])),
            ("orders", order("d1-off", T0 + DAY + 200, [("sku-1", 1)], status="cancelled")),
        ],
        closing_bound=day_of(T0) + 1,
    )
    state = run.states()["sku-1"]
    assert not any(run.late)
    assert state.demand.n == 1  # day 0, with its 2 units
    assert (state.demand.day, state.demand.units) == (day_of(T0) + 1, 3 - 1)
    assert state.net_stock == 80 - 2 - 4 - 3 + 1  # stock moves as events come
    run.feed([("sku-ticks", tick("sku-1", T0 + 4 * DAY))])  # every orders partition read
    state = run.states()["sku-1"]
    assert state.demand.n == 4 and state.demand.level == pytest.approx((2 + 2 + 0 + 4) / 4)
    assert (state.demand.day, state.demand.units, state.demand.ahead) == (day_of(T0) + 4, 0, {})


def test_a_sale_runs_at_most_max_days_ahead_of_the_days_held_open():
    run = EngineRun()
    run.feed(market())
    days = MAX_DAYS_AHEAD + 3
    sales = [("orders", order(f"d{d}", T0 + d * DAY + 100, [("sku-1", 1)])) for d in range(days)]
    run.feed(sales, closing_bound=EARLIEST)  # an orders partition not heard of yet
    demand = run.states()["sku-1"].demand
    assert demand.day == day_of(T0) + days - 1 - MAX_DAYS_AHEAD
    assert sorted(demand.ahead) == [day_of(T0) + d for d in range(days - MAX_DAYS_AHEAD, days)]
    assert demand.n == days - 1 - MAX_DAYS_AHEAD and not any(run.late)


def test_closing_day_is_the_events_own_unless_held_open():
    assert closing_day(20, None) == 20
    assert closing_day(20, 25) == 20
    assert closing_day(20, 17) == 17
    assert closing_day(20, EARLIEST) == 20 - MAX_DAYS_AHEAD


def test_multi_line_orders_update_each_sku():
    inputs = market("a") + market("b") + [("orders", order("m", T0 + 10, [("a", 2), ("b", 5)]))]
    states, _ = restocks(SkuEngine(), inputs)
    assert states["a"].net_stock == 78 and states["b"].net_stock == 75


def test_demand_is_learned_at_the_list_price_and_forecast_at_the_current_one():
    # the engine raised its price: the forecast for restocking follows the elasticity estimate
    run = EngineRun()
    run.feed(market(stock=500) + demand_history("sku-1", DAYS))
    state = run.states()["sku-1"]
    elasticity = state.elasticity.estimate()[0]
    factor = (state.price / 20.0) ** elasticity
    assert state.price != 20.0
    assert state.demand.forecast(price_factor=factor)[0] == pytest.approx(
        state.demand.level * factor
    )
    assert price_factor(state, state.price) == pytest.approx(factor)


def test_a_categorys_peak_last_year_raises_its_skus_forecasts_in_the_same_week():
    """sku-old sold 3× its usual in ISO week 48 of 2024; in 2025 its forecast for that week
    rises, and so does that of sku-new, launched in its category in October 2025."""
    peak = set(iso_week_days(2024, 48))
    eve = iso_week_days(2025, 47)[-1]  # Sunday 2025-11-23, the eve of the same week a year on

    def sales(sku: str, start: int, stock: int) -> list:
        snapshot = inventory(f"open-{sku}", start * DAY, sku, "snapshot", stock)
        return [("catalog", catalog(sku)), ("inventory", snapshot)] + [
            ("orders", order(f"{sku}-{day}", day * DAY + 43_200, [(sku, 30 if day in peak else 10)]))
            for day in range(start, eve + 1)
        ]  # fmt: skip

    run = EngineRun(SkuEngine(EngineConfig(dynamic_pricing=False, promotions=False)))
    run.feed(sales("sku-old", iso_week_days(2024, 36)[0], 1_000_000))
    requests = run.feed(sales("sku-new", iso_week_days(2025, 40)[0], 450))
    for state in run.states().values():
        demand = state.demand
        assert demand.day == eve
        usual, _ = demand.forecast(eve, 1)
        peak_week, _ = demand.forecast(eve + 1, 3)  # the protection period: Monday to Wednesday
        assert usual == pytest.approx(10.0, rel=0.1)
        assert peak_week > 1.6 * usual  # last year's 3×, shrunk toward 1 by the prior's ½
    # sku-new orders for the peak once its protection period (3 days) reaches it, and says why
    ahead = [r.value for r in requests if r.value["occurred_at"] >= "2025-11-21"]
    before = [r.value for r in requests if r.value["occurred_at"] < "2025-11-21"]
    assert ahead and before
    for request in ahead:
        assert request["forecast"]["yearly_factor"] > 1.25
        assert request["forecast"]["mean_per_day"] > 12.5
        assert "yearly_season" in request["reason_codes"]
        assert_valid("restock-requests.v1", request)
    for request in before:
        assert request["forecast"]["yearly_factor"] == 1.0
        assert "yearly_season" not in request["reason_codes"]
