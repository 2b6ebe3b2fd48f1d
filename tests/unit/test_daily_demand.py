import numpy as np
import pytest
from scipy import stats

from realtime_mkt.models.daily_demand import DailyDemand


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


def test_stockout_days_are_censored_not_learned_as_low_demand():
    model = DailyDemand()
    feed(model, [10, 10, 10])
    model.add_sale(2, 10.0)
    model.mark_stockout()  # sold 2 then ran out: the day says nothing about demand
    model.advance(104, stocked_out=True)  # still out of stock next day
    model.advance(105, stocked_out=False)
    assert model.n == 3
    assert model.forecast()[0] == pytest.approx(10)


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


def test_round_trips_through_its_compact_form():
    model = DailyDemand()
    feed(model, [3, 4, 5])
    model.add_sale(2, 10.0)
    assert DailyDemand.from_list(model.to_list()) == model
