import json
from collections.abc import Iterator

import numpy as np
import pytest
from scipy import stats

from realtime_mkt.models import daily_demand
from realtime_mkt.models.daily_demand import DailyDemand
from realtime_mkt.policies.cycle_service import POOL_SIGNAL_MAX


def feed(model: DailyDemand, daily_units: list[float], start: int = 100) -> None:
    for offset, units in enumerate(daily_units):
        model.advance(start + offset, stocked_out=False)
        model.add_sale(units, 10.0)
    model.advance(start + len(daily_units), stocked_out=False)


def test_learns_sample_mean_and_spread_while_young():
    days = [12, 8, 10, 14, 6, 11, 9]
    model = DailyDemand()
    feed(model, days)
    mean, std = model.forecast()
    assert model.n == len(days)
    assert mean == pytest.approx(np.mean(days))
    # widened by Student's t at 6 degrees of freedom over the normal quantile, then calibrated
    widening = stats.t.ppf(0.95, len(days) - 1) / stats.norm.ppf(0.95)
    assert std == pytest.approx(np.std(days, ddof=1) * widening * model.scale, rel=0.005)


def test_tracks_a_level_shift_with_exponential_forgetting():
    model = DailyDemand(span_days=28)
    feed(model, [10.0] * 60 + [30.0] * 60)
    mean, _ = model.forecast()
    assert mean > 29


HOUR = 3600.0


def test_a_day_that_ran_out_early_is_censored_not_learned_as_low_demand():
    model = DailyDemand()
    feed(model, [10, 10, 10])
    model.add_sale(2, 10.0)
    model.mark_stock(out=True, at=3 * HOUR)  # sold 2, then nothing from 03:00 to the end
    assert model.in_stock_share() == pytest.approx(0.125)
    model.advance(104, stocked_out=True)  # still out of stock next day
    assert model.in_stock_share() == 0.0
    model.advance(105, stocked_out=False)
    assert model.n == 3
    assert model.forecast()[0] == pytest.approx(10)


def test_a_day_that_ran_out_learns_the_rate_demand_came_at_while_in_stock():
    """7 sold by noon, then the unit that emptied the shelf: demand came at 14 a day, which
    beats the forecast of 10, so the day teaches the level 14, not the 8 it sold."""
    model = DailyDemand()
    feed(model, [10, 10, 10])
    model.add_sale(7, 10.0)
    model.add_sale(1, 10.0, beyond_stock=1)
    model.mark_stock(out=True, at=12 * HOUR)
    model.mark_stock(out=True, at=13 * HOUR)  # still out: the span started at noon
    closed = model.advance(104, stocked_out=False)
    assert closed == []  # a bound: not passed on to the price and click models
    assert model.n == 4
    assert model.forecast()[0] == pytest.approx(np.mean([10, 10, 10, 14]))


def evening_share(start: float, end: float) -> float:
    """Demand that comes three quarters from 18:00 to 06:00: the share between two times."""
    spans = ((0.0, 6 * HOUR, 0.375), (6 * HOUR, 18 * HOUR, 0.25), (18 * HOUR, 24 * HOUR, 0.375))
    return sum(
        share * max(min(end, high) - max(start, low), 0.0) / (high - low)
        for low, high, share in spans
    )


@pytest.mark.parametrize(
    ("share", "in_stock"), [(daily_demand.clock_share, 0.5), (evening_share, 0.25)]
)
def test_a_receipt_ends_the_time_out_of_stock(share, in_stock):
    model = DailyDemand()
    feed(model, [10, 10])
    model.add_sale(10, 10.0)
    model.advance(103, stocked_out=True)  # the day opens with nothing on hand
    model.mark_stock(out=False, at=6 * HOUR, share=share)  # a receipt at 06:00
    model.mark_stock(out=True, at=18 * HOUR, share=share)  # sold out again at 18:00
    model.mark_stock(out=True, at=20 * HOUR, share=share)
    assert model.in_stock_share(share) == pytest.approx(in_stock)
    model.add_sale(5 * in_stock * 2 + 1, 10.0, beyond_stock=1)  # 5 or 2.5 while in stock
    model.advance(104, stocked_out=False, share=share)  # a rate of 10 a day: not above forecast
    assert model.n == 3
    assert model.in_stock_share(share) == 1.0


def test_a_stockout_day_that_sold_more_than_forecast_raises_the_level():
    model = DailyDemand()
    feed(model, [10, 10, 10])
    model.add_sale(16, 10.0)  # 16 sold before the shelf emptied at 01:00: demand was at least 16
    model.mark_stock(out=True, at=1 * HOUR)
    closed = model.advance(104, stocked_out=False)
    assert closed == []  # a lower bound: not passed on to the price and click models
    assert model.n == 4
    assert model.forecast()[0] == pytest.approx(np.mean([10, 10, 10, 16]))


@pytest.mark.parametrize(("sold_out_at", "level_above"), [(1.0, 17), (21.6, 19.5)])
def test_stockouts_after_demand_doubled_still_let_the_level_catch_up(sold_out_at, level_above):
    """Demand doubles and the SKU sells out every day from then on: were censored days ignored,
    the level would stay at the old demand and the orders built on it would keep selling out.
    Sold out at 01:00, each day is a lower bound the level climbs on; sold out at 21:36 (0.9 of
    the day), each says the demand was 20."""
    model = DailyDemand()
    feed(model, [10] * 40)
    for day in range(140, 180):
        model.advance(day, stocked_out=False)
        model.add_sale(18, 10.0)  # demand 20, stock for 18
        model.mark_stock(out=True, at=sold_out_at * HOUR)
    model.advance(180, stocked_out=False)
    assert model.forecast()[0] > level_above


def test_the_spread_is_that_of_the_forecast_as_served():
    """Demand alternates 6 and 14 around a level of 10 and a signal foresaw each swing: the
    served forecast (level × signal) is exact, so its error spread is zero, and the level
    still learns demand without the signal."""
    served, plain = DailyDemand(), DailyDemand()
    for model in (served, plain):
        model.advance(100, stocked_out=False)
    for offset in range(40):
        units = 6.0 if offset % 2 else 14.0
        for model, signal in ((served, units / 10.0), (plain, 1.0)):
            model.add_sale(units, 10.0)
            model.advance(101 + offset, stocked_out=False, signal=signal)
    assert served.var < 0.05 * plain.var
    assert served.forecast()[0] == pytest.approx(plain.forecast()[0])


def test_days_without_events_count_as_zero_demand():
    model = DailyDemand()
    feed(model, [9, 9, 9])
    model.advance(106, stocked_out=False)  # days 103..105 passed with no sale
    assert model.n == 6
    assert model.forecast()[0] == pytest.approx(4.5)


def test_late_events_do_not_reopen_closed_days():
    model = DailyDemand()
    feed(model, [5, 5])
    model.advance(100, stocked_out=False)  # an old event arrives
    assert model.day == 102


def test_sales_of_a_later_day_wait_for_it_and_are_learned_on_their_own_day():
    model = DailyDemand()
    feed(model, [5, 5])  # day 102 open
    model.add_sale(4, 10.0, day=104)
    model.add_sale(1, 10.0, day=102)
    model.add_sale(6, 10.0, day=103)
    model.add_sale(-1, 10.0, day=104)  # a cancellation of a later day's sale
    assert (model.day, model.units) == (102, 1)
    model.advance(104, stocked_out=False)
    assert model.n == 4 and model.level == pytest.approx((5 + 5 + 1 + 6) / 4)
    assert (model.day, model.units, model.revenue, model.ahead) == (104, 3, 30.0, {})


def test_the_first_day_moves_to_an_earlier_sale_only_while_no_day_is_learned():
    model = DailyDemand()
    model.advance(105, stocked_out=False)
    model.add_sale(4, 10.0, day=105)
    model.move_first_day(103)
    assert (model.day, model.units, model.ahead) == (103, 0, {105: [4, 40.0]})
    model.advance(106, stocked_out=False)
    assert model.n == 3 and model.level == pytest.approx(4 / 3)
    model.move_first_day(100)
    assert model.day == 106


def test_round_trips_through_its_compact_form():
    model = DailyDemand()
    feed(model, [3, 4, 5])
    model.add_sale(2, 10.0)
    assert model.error_abs > 0
    model.add_sale(3, 10.0, day=model.day + 2)
    model.set_yearly(model.day, [1.5, 2.0])
    assert DailyDemand.from_list(json.loads(json.dumps(model.to_list()))) == model
    older = DailyDemand.from_list(model.to_list()[:9])  # a state stored before the signal
    assert (older.level, older.error_mean, older.error_abs) == (model.level, 0.0, 0.0)
    before_ahead = DailyDemand.from_list(model.to_list()[:11])
    assert (before_ahead.error_abs, before_ahead.ahead) == (model.error_abs, {})
    before_yearly = DailyDemand.from_list(model.to_list()[:12])
    assert (before_yearly.ahead, before_yearly.yearly) == (model.ahead, [])
    model.mark_stock(out=True, at=9 * HOUR)
    assert DailyDemand.from_list(json.loads(json.dumps(model.to_list()))) == model
    before_times = DailyDemand.from_list(model.to_list()[:14])  # ran out: when is unknown
    assert before_times.censored and before_times.in_stock_share() == 0.0


def test_yearly_factors_scale_forecasts_and_explain_a_peak_to_the_level():
    seasoned, plain = DailyDemand(weekdays=False), DailyDemand(weekdays=False)
    for model in (seasoned, plain):
        feed(model, [10.0] * 40)
    day = seasoned.day
    seasoned.set_yearly(day, [3.0, 3.0])
    assert seasoned.forecast(day, 2)[0] == pytest.approx(30.0)
    assert seasoned.forecast(day + 2, 1)[0] == pytest.approx(10.0)  # past the days set: 1
    assert seasoned.forecast()[0] == pytest.approx(10.0)  # the level: no yearly factor
    for model in (seasoned, plain):
        model.add_sale(30.0, 10.0)  # the peak came as last year's said
        (closed,) = model.advance(day + 1, stocked_out=False)
        assert closed.baseline_ratio == pytest.approx(3.0)  # over the baseline, for the category
    assert seasoned.level == pytest.approx(10.0)  # the season explained it
    assert plain.level > 11.0  # without it the level takes the peak for demand
    assert seasoned.var < plain.var


def test_weekday_factors_are_learned_only_when_asked():
    weekly, daily = DailyDemand(weekdays=False), DailyDemand()
    for model in (weekly, daily):
        feed(model, [20.0 if k % 7 == 0 else 10.0 for k in range(70)])
    assert weekly.season == [1.0] * 7
    assert max(daily.season) > 1.3  # the busy day, on its way to 20 / (80 / 7) = 1.75


def poisson_days(rng, means: list[float]) -> list[float]:
    return [float(rng.poisson(m)) for m in means]


@pytest.mark.parametrize("tracking", [True, False])
def test_a_doubled_demand_is_followed_within_days_only_with_the_tracking_signal(
    tracking, monkeypatch
):
    if not tracking:
        monkeypatch.setattr(daily_demand, "TRACKING_ALARM", 1.1)  # the signal never exceeds 1
    rng = np.random.default_rng(5)
    lags = []
    for _ in range(20):
        model = DailyDemand()
        feed(model, poisson_days(rng, [10.0] * 60 + [20.0] * 14))
        lags.append(20.0 - model.forecast()[0])
    if tracking:  # 14 days after the jump the level is within 10 % of the new demand
        assert np.mean(lags) < 2.0
    else:  # at the span's rate (2/29 a day) about a third of the jump is still missing
        assert np.mean(lags) > 2.5


def steady_days(rng: np.random.Generator, skus: int = 20) -> Iterator[DailyDemand]:
    """Each of `skus` models after each of 200 days of Poisson(10) demand, once past two weeks."""
    for _ in range(skus):
        model = DailyDemand()
        for offset, units in enumerate(poisson_days(rng, [10.0] * 200)):
            model.advance(100 + offset, stocked_out=False)
            model.add_sale(units, 10.0)
            if model.n > 14:
                yield model


def test_the_tracking_signal_stays_quiet_on_steady_demand():
    alarms = [model.shifting for model in steady_days(np.random.default_rng(6))]
    assert np.mean(alarms) < 0.03


def test_the_tracking_signal_leans_to_one_side_within_days_of_a_shift_only():
    """Restock's pooled correction ignores SKUs whose signal reaches POOL_SIGNAL_MAX: five days
    after demand doubled the signal is past it on average; on steady demand it rarely is."""
    rng = np.random.default_rng(6)
    steady = [model.tracking_signal >= POOL_SIGNAL_MAX for model in steady_days(rng)]
    shifted = []
    for _ in range(20):
        model = DailyDemand()
        feed(model, poisson_days(rng, [10.0] * 60 + [20.0] * 5))
        shifted.append(model.tracking_signal)
    assert np.mean(steady) < 0.12
    assert np.mean(shifted) > POOL_SIGNAL_MAX


def test_errors_are_read_in_proportion_to_the_yearly_factor():
    peak, ordinary = DailyDemand(weekdays=False), DailyDemand(weekdays=False)
    for model in (peak, ordinary):
        feed(model, [8.0, 12.0] * 20)
    day = peak.day
    peak.set_yearly(day, [3.0])
    (mean, std), (_, ordinary_std) = peak.forecast(day, 1), peak.forecast(day + 1, 1)
    assert mean == pytest.approx(3 * peak.level) and std == pytest.approx(3 * ordinary_std)
    peak.add_sale(3 * peak.level + 6.0, 10.0)  # 6 over a forecast three times the usual ...
    ordinary.add_sale(ordinary.level + 2.0, 10.0)  # ... is what 2 over it is on an ordinary day
    for model in (peak, ordinary):
        model.advance(day + 1, stocked_out=False)
    assert peak.var == pytest.approx(ordinary.var)
    assert peak.scale == pytest.approx(ordinary.scale)
