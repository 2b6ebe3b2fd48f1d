import datetime

import numpy as np
import pytest

from realtime_mkt.models.yearly_season import (
    PRIOR_NOISE,
    PRIOR_SHRINK,
    RATIO_MAX,
    YEARS,
    CategorySeasons,
    iso_week,
)
from tests.helpers import day_number, iso_week_days


def test_iso_week_of_a_day_number():
    assert iso_week(0) == (1970, 1)  # a Thursday: its week is the year's first
    assert iso_week(day_number(datetime.date(2025, 11, 28))) == (2025, 48)  # Black Friday
    assert iso_week(day_number(datetime.date(2027, 1, 1))) == (2026, 53)  # 2026 has 53 weeks


def test_the_first_year_changes_no_forecast():
    seasons = CategorySeasons()
    for day in iso_week_days(2025, 48):
        seasons.learn("toys", day, 3.0)
        assert seasons.factors("toys", day, 10) == []  # this year's ratios are not a season


def test_last_years_week_sets_the_same_week_this_year_shrunk_by_the_priors():
    seasons = CategorySeasons()
    for day in iso_week_days(2025, 48):
        seasons.learn("toys", day, 3.0)
    for day in iso_week_days(2025, 49):
        seasons.learn("toys", day, 1.05)
    week_before = iso_week_days(2026, 47)[0]
    factors = seasons.factors("toys", week_before, 21)
    # the week before: no season known. Black Friday's week, 2 above the baseline, far above
    # the prior noise (√v = 0.1): its own reliability 1 − v/2², not the prior shrink (½)
    assert factors[:7] == [1.0] * 7
    assert factors[7:14] == [pytest.approx(1.0 + 2.0 * (1.0 - PRIOR_NOISE / 4.0))] * 7
    # the week after, 0.05 above it: within the noise, so the prior shrink
    assert factors[14:] == [pytest.approx(1.0 + PRIOR_SHRINK * 0.05)] * 7
    assert seasons.factors("garden", week_before + 7, 1) == []  # another category's own


def test_earlier_years_are_averaged_and_older_ones_forgotten():
    seasons = CategorySeasons()
    ratios = {2022: 5.0, 2023: 1.5, 2024: 2.5}
    for year, ratio in ratios.items():
        seasons.learn("toys", iso_week_days(year, 48)[0], ratio)
    day = iso_week_days(2025, 48)[0]
    assert seasons.earlier("toys", day) == pytest.approx(np.mean([1.5, 2.5]))  # YEARS = 2
    assert YEARS == 2
    # 2025 reuses 2022's slot in the ring: 2022 is gone, not mistaken for 2025
    assert seasons.earlier("toys", iso_week_days(2026, 48)[0]) == pytest.approx(2.5)
    assert len(seasons.store) <= 1 + (YEARS + 1) * 53


def test_the_shrink_is_how_far_last_years_weeks_foretold_this_years():
    season = 1.0 + 0.4 * np.sin(np.arange(1, 53) / 52 * 2 * np.pi)  # variance 0.08

    def run(noise: float, seasonal: bool) -> float:
        rng = np.random.default_rng(3)
        seasons = CategorySeasons()
        for year in (2024, 2025):
            for week in range(1, 53):
                for day in iso_week_days(year, week):
                    level = season[week - 1] if seasonal else 1.0
                    seasons.learn("c", day, max(0.0, level + noise * rng.normal()))
        return seasons.shrink("c")

    assert run(noise=0.05, seasonal=True) > 0.95  # a sure season is taken whole
    assert run(noise=0.3, seasonal=False) < 0.15  # noise alone foretells nothing
    # a noisy one, partly: a week's mean of 7 days has noise variance 0.36 / 7, so the
    # reliability is 0.08 / (0.08 + 0.051) = 0.61; 52 weeks estimate it within about ±0.2
    assert 0.4 < run(noise=0.6, seasonal=True) < 0.85


def test_a_day_far_above_its_level_counts_as_the_cap_and_nonsense_not_at_all():
    seasons = CategorySeasons()
    day = iso_week_days(2025, 10)[0]
    seasons.learn("c", day, 40.0)  # one bulk order is no season
    seasons.learn("c", day, float("nan"))
    seasons.learn("c", day, -1.0)
    assert seasons.earlier("c", iso_week_days(2026, 10)[0]) == RATIO_MAX


def test_a_few_peak_weeks_are_kept_when_the_ordinary_weeks_foretold_nothing():
    """The simulator's holidays market, in small: a category's ordinary weeks are noise around
    its baseline, which drifts from one year to the next (1.0 ± 0.05 in the first year, 0.92 in
    the second), and its season is a few peak weeks. The slope fitted on the ordinary weeks
    before the peaks is near 0 (their noise foretold nothing), and the first peak week used to
    be forecast at its ordinary level."""
    peaks = {47: 1.5, 48: 2.3, 49: 1.4}
    seasons = CategorySeasons()
    for year, weeks in ((2025, 52), (2026, 46)):
        for week in range(1, weeks + 1):
            ordinary = 1.0 + 0.05 * (-1) ** week if year == 2025 else 0.92
            for day in iso_week_days(year, week):
                seasons.learn("toys", day, peaks.get(week, ordinary))
    assert seasons.shrink("toys") < 0.05
    assert seasons.noise("toys") < 0.01  # the ordinary weeks missed by a few hundredths
    factors = seasons.factors("toys", iso_week_days(2026, 47)[0], 28)
    for n, peak in enumerate(peaks.values()):
        assert factors[7 * n] == pytest.approx(peak, abs=0.02)
    # an ordinary week's 0.05 is within the noise: at most the slope's share of it is kept
    assert factors[21] == pytest.approx(1.0, abs=0.05 * 0.05)


def test_the_noise_is_how_far_earlier_years_weeks_missed_this_years():
    """Week means that err by σ = 0.2 a year around a recurring season: each week seen in two
    years misses by 2σ² in square, and counts half of it (one earlier year), so v nears σ²."""
    rng = np.random.default_rng(8)
    season = 1.0 + 0.4 * np.sin(np.arange(1, 53) / 52 * 2 * np.pi)
    seasons = CategorySeasons()
    for year in (2024, 2025):
        for week in range(1, 53):
            ratio = season[week - 1] + 0.2 * rng.normal()
            for day in iso_week_days(year, week):
                seasons.learn("c", day, ratio)
    assert seasons.noise("c") == pytest.approx(0.2**2, rel=0.3)
    assert seasons.noise("new") == PRIOR_NOISE
