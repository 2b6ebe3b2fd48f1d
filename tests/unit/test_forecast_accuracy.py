"""Demand forecasts on streams with known truth: beat seasonal-naive, intervals cover near nominal."""

from __future__ import annotations

import numpy as np
import pytest
from river import time_series

from realtime_mkt.models.daily_demand import DailyDemand, weekday

WEEKLY = np.array([0.8, 0.9, 0.95, 1.0, 1.1, 1.35, 0.9])  # Monday .. Sunday


def one_step_ahead(
    seed: int,
    days: int = 400,
    level: float = 40.0,
    dispersion: float = 0.0,
    skew: float = 0.0,
    river_model=None,
):
    """(actual, mean, std, actual a week earlier) per day after a 60-day burn-in; demand is
    Poisson, negative binomial (variance mean + dispersion × mean²) when `dispersion` > 0, or
    rounded log-normal with log-sd `skew` (same mean, long right tail) when `skew` > 0. With
    `river_model` (a river forecaster) its one-step forecast is the mean and std is 0."""
    rng = np.random.default_rng(seed)
    model = DailyDemand()
    start = 20_000
    rows = []
    history: list[float] = []
    for d in range(start, start + days):
        model.advance(d, stocked_out=False)
        mean, std = model.forecast(d)
        if river_model is not None:
            mean, std = (river_model.forecast(horizon=1)[0] if d - start >= 14 else 0.0), 0.0
        rate = level * WEEKLY[weekday(d)]
        if dispersion:
            rate = rng.gamma(1 / dispersion, rate * dispersion)
        if skew:
            actual = float(round(rng.lognormal(np.log(rate) - skew**2 / 2, skew)))
        else:
            actual = float(rng.poisson(rate))
        if d - start >= 60:
            rows.append((actual, mean, std, history[-7]))
        history.append(actual)
        model.add_sale(actual, 1.0)
        if river_model is not None:
            river_model.learn_one(actual)
    return np.array(rows)


def test_beats_seasonal_naive_and_learns_the_weekly_pattern():
    assert mase(one_step_ahead(seed=1)) < 1.0


def mase(rows) -> float:
    """Mean absolute error against seasonal-naive's (the same weekday a week earlier)."""
    actual, mean, naive = rows[:, 0], rows[:, 1], rows[:, 3]
    return float(np.mean(np.abs(actual - mean)) / np.mean(np.abs(actual - naive)))


@pytest.mark.parametrize(
    "shape",
    [{"level": 40.0}, {"level": 3.0}, {"level": 20.0, "dispersion": 0.3}],
    ids=["poisson-40", "poisson-3", "negative-binomial"],
)
def test_beats_river_holt_winters_on_daily_demand(shape):
    """river's Holt-Winters at the best of α ∈ {0.05, 0.1, 0.2} (additive weekly season; its
    multiplicative form diverged on these streams) is the baseline the daily model must beat."""
    ours = np.mean([mase(one_step_ahead(seed, **shape)) for seed in range(1, 4)])

    def holt_winters(alpha: float) -> float:
        runs = [
            one_step_ahead(
                seed,
                river_model=time_series.HoltWinters(
                    alpha=alpha, beta=0.01, gamma=0.1, seasonality=7
                ),
                **shape,
            )
            for seed in range(1, 4)
        ]
        return float(np.mean([mase(rows) for rows in runs]))

    assert ours < min(holt_winters(alpha) for alpha in (0.05, 0.1, 0.2))


def coverage(rows) -> float:
    actual, mean, std = rows[:, 0], rows[:, 1], rows[:, 2]
    return float(np.mean(np.abs(actual - mean) <= 1.645 * std))


@pytest.mark.parametrize(
    "shape",
    [
        {"level": 40.0},
        {"level": 3.0},
        {"level": 20.0, "dispersion": 0.3},
        {"level": 20.0, "skew": 0.8},
    ],
    ids=["poisson-40", "poisson-3-discrete", "negative-binomial", "log-normal-skewed"],
)
def test_ninety_percent_intervals_cover_near_nominal(shape):
    # a plain normal σ covers 92–93 % of the skewed stream: the calibration brings it to ~90 %
    covered = [coverage(one_step_ahead(seed, **shape)) for seed in range(5)]
    assert 0.885 <= np.mean(covered) <= 0.915


def test_coverage_recovers_after_a_demand_shock():
    rng = np.random.default_rng(7)
    model = DailyDemand()
    hits = []
    for d in range(20_000, 20_300):
        model.advance(d, stocked_out=False)
        mean, std = model.forecast(d)
        actual = float(rng.poisson(10 if d < 20_150 else 30))  # demand triples on day 150
        if d >= 20_180:  # a month after the shock
            hits.append(abs(actual - mean) <= 1.645 * std)
        model.add_sale(actual, 1.0)
    assert 0.85 <= np.mean(hits) <= 0.95


def test_weekday_factors_converge_to_the_truth():
    model = DailyDemand()
    rng = np.random.default_rng(3)
    for d in range(20_000, 20_400):
        model.advance(d, stocked_out=False)
        model.add_sale(float(rng.poisson(60 * WEEKLY[weekday(d)])), 1.0)
    assert np.allclose(model.season, WEEKLY / WEEKLY.mean(), atol=0.08)
