import json

import numpy as np

from realtime_mkt.engine import forecast_factor, price_factor, sku_signal, tick
from realtime_mkt.events import format_time
from realtime_mkt.models.click_signal import ClickSignal
from realtime_mkt.models.daily_demand import day_of
from tests.helpers import DAY, T0, EngineRun, catalog, demand_history, inventory


def test_learns_that_yesterdays_click_surprise_leads_todays_demand():
    rng = np.random.default_rng(0)
    signal = ClickSignal()
    interest = 1.0
    for day in range(200):
        signal.advance(day)
        demand_surprise = interest - 1.0  # today's demand follows yesterday's interest
        signal.learn(day, demand_surprise)
        interest = float(np.exp(rng.normal(0, 0.3)))
        for _ in range(rng.poisson(50 * interest)):
            signal.add_click(day)
    signal.advance(200)
    slope = signal.sxy / signal.sxx
    assert 0.7 < slope < 1.3  # demand moves with yesterday's clicks, one for one
    expected = min(max(1 + slope * signal.surprise(199), 0.5), 2.0)
    assert signal.multiplier(200) == expected


def test_without_a_learned_relation_the_multiplier_is_neutral_and_bounded():
    signal = ClickSignal()
    assert signal.multiplier(5) == 1.0
    signal.surprises = [[4, 10.0]]
    signal.sxy, signal.sxx = 1.0, 0.01
    assert signal.multiplier(5) == 2.0
    assert ClickSignal.from_list(signal.to_list()) == signal


def test_a_click_counts_in_its_own_day_whenever_it_comes():
    signal = ClickSignal()
    assert not signal.add_click(9)  # before the first day: it waits
    signal.advance(10)
    assert not signal.add_click(12) and not signal.add_click(11)  # wait for their days
    assert not signal.add_click(10) and not signal.add_click(8)
    assert (signal.day, signal.today, signal.ahead) == (10, 1.0, {8: 1.0, 9: 1.0, 11: 1.0, 12: 1.0})
    signal.advance(11)  # the first day closes with the clicks of the days before it
    assert (signal.n, signal.level, signal.today, signal.ahead) == (1, 3.0, 1.0, {12: 1.0})
    assert signal.add_click(10)  # its day is closed: late, counted in the open day
    assert signal.today == 2.0
    restored = ClickSignal.from_list(json.loads(json.dumps(signal.to_list())))
    assert restored == signal
    old = signal.to_list()[:7]  # stored before clicks waited for their day
    assert ClickSignal.from_list(old).ahead == {}
    signal.advance(12)
    assert (signal.today, signal.ahead) == (1.0, {})


def test_the_first_day_moves_back_to_an_earlier_sale_with_its_clicks():
    signal = ClickSignal()
    signal.add_click(8)
    signal.advance(10)
    signal.add_click(10)
    signal.move_first_day(8)
    assert (signal.day, signal.today, signal.ahead) == (8, 1.0, {10: 1.0})
    signal.advance(10)
    assert (signal.n, signal.level, signal.today) == (2, 0.5, 1.0)
    signal.move_first_day(5)  # a day is closed: the first day stays
    assert signal.day == 10


def signal(i: int, ts: float) -> tuple[str, dict]:
    click = {"event_id": f"c{i}", "occurred_at": format_time(ts), "sku_id": "s", "action": "click"}
    return ("sku-signals", sku_signal(click))


def test_click_signals_reach_the_sku_state_and_lift_its_forecast():
    run = EngineRun()
    run.feed([("catalog", catalog("s")), ("inventory", inventory("o", T0, "s", "snapshot", 900))])
    for day in range(12):
        run.feed(demand_history("s", [10], start=T0 + day * DAY, prefix=f"d{day}-"))
        per_day = 30 if day == 11 else 5  # a surge of interest on the last day
        run.feed([signal(day * 100 + i, T0 + day * DAY + 50_000 + i) for i in range(per_day)])
    run.feed([("sku-ticks", tick("s", T0 + 12 * DAY + 1))])
    state = run.states()["s"]
    assert state.clicks.surprise(day_of(T0) + 11) == 30 / 5 - 1
    state.clicks.sxy = state.clicks.sxx = 0.5  # suppose it has learned: demand follows clicks 1:1
    assert forecast_factor(state) == 2.0 * price_factor(state, state.selling_price)  # clipped at 2
