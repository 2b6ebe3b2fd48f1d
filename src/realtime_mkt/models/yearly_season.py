"""A category's yearly season: how far each ISO week's demand ran above or below its SKUs'
levels in earlier years, carried into the same week this year.

Day-of-week factors and a level that follows in days cannot see Black Friday or Christmas
coming: a peak is over before the level has caught up, and next year it is missed again. The
calendar repeats, so each category keeps, for every ISO week, the mean over its SKUs' learned
days of demand over baseline (units at the reference price / (baseline × weekday factor), the
baseline being the SKU's level over a year: `DailyDemand.baseline`; capped at RATIO_MAX). A
day's yearly factor carries a share k of that week's deviation in the last YEARS years:

    factor = 1 + k · (x − 1),   k = max(shrink, 1 − v / (x − 1)²)   (1 while no year is known)

The ratios of one week one year ago carry that year's noise as well as the season, and two
reliabilities say how much of them to keep:

- `shrink`, the category's: the least-squares slope of this year's ratios on earlier years'
  (both less 1), through the origin, clipped to [0, 1], starting at PRIOR_SHRINK worth
  PRIOR_WEIGHT of evidence. Noise in last year's means attenuates that slope by exactly the
  share of their spread that is season (errors in the regressor), the weight a shrinkage
  estimator gives them.
- the week's own, positive-part James–Stein: v is how far earlier years' mean of a week
  missed this year's, less this year's own error (each week, once the category's next week
  begins, adds (this year's mean − x)² / (years + 1); v starts at PRIOR_NOISE worth PRIOR_WEEKS
  weeks). A deviation far above √v is kept nearly whole, one within it not at all.

The slope alone is learned mostly from ordinary weeks, whose deviations are noise and the
baseline's drift from one year to the next: before the holidays of the simulator's second year
it was near 0 for toys and kitchen, and their first holiday week was forecast at its ordinary
level (stop 44). A toy category's Black Friday week, 2.3× its baseline, stands far above a
noise of a few hundredths, and its own reliability keeps it; where the slope is the higher
(weeks within the noise of a category whose seasons did repeat), the slope's share is kept.

Weeks are kept per category, not per SKU: a SKU's own week a year ago is a handful of units,
a category's is many SKUs' worth, a SKU launched in October inherits its category's November,
and the memory is bounded per category (a ring of YEARS + 1 years of 53 weeks, each
[year, sum of ratios, count], and two sums each for the shrink and v) rather than per SKU. Its
first year the model learns the weeks and changes no forecast. A week is counted into v as it
stands when the category's first day of the next week is learned; a SKU that closes its last
day of the week later still adds to the week, not to v.

`store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's batch
sees it, as for restock's `CyclePool`: each partition pools its own SKUs in their input order.
"""

from __future__ import annotations

import datetime
import math

from realtime_mkt.key_value import KeyValueStore

YEARS = 2  # earlier years whose same week is averaged
RATIO_MAX = 5.0  # a day's demand over baseline counts at most this (one huge order is no season)
PRIOR_SHRINK = 0.5
PRIOR_WEIGHT = 0.05  # Σ (last year's ratio − 1)² the prior counts for: a few weeks' worth
PRIOR_NOISE = 0.01  # v before any week tells: earlier years' mean of a week off by about 0.1 ...
PRIOR_WEEKS = 4.0  # ... worth this many weeks
_EPOCH = datetime.date(1970, 1, 1).toordinal()


def iso_week(day: int) -> tuple[int, int]:
    """ISO year and week of a UTC day number."""
    year, week, _ = datetime.date.fromordinal(_EPOCH + day).isocalendar()
    return year, week


def kept(deviation: float, shrink: float, noise: float) -> float:
    """The part of earlier years' deviation x − 1 carried into this year: the category's
    `shrink`, or the deviation's own reliability 1 − v/(x − 1)² (`noise`: v) where larger."""
    square = deviation * deviation
    own = 1.0 - noise / square if square > noise else 0.0
    return deviation * max(shrink, own)


def _fit_key(category: str) -> tuple[str, str]:
    return ("yearly-season-fit", category)


def _week_key(category: str, year: int, week: int) -> tuple[str, str, int, int]:
    return ("yearly-season", category, year % (YEARS + 1), week)


def _noise_key(category: str) -> tuple[str, str]:
    return ("yearly-season-noise", category)


class CategorySeasons:
    """Every category's ISO weeks and how far earlier years' weeks miss this year's."""

    def __init__(self, store: KeyValueStore | None = None) -> None:
        self.store: KeyValueStore = {} if store is None else store

    def _week_mean(self, category: str, year: int, week: int) -> float | None:
        stored = self.store.get(_week_key(category, year, week))
        if stored is None or stored[0] != year or stored[2] == 0:
            return None
        return stored[1] / stored[2]

    def _earlier(self, category: str, day: int) -> tuple[float, int] | None:
        """The mean ratio of the day's ISO week in the last YEARS years, and how many years
        were seen; None if none was."""
        year, week = iso_week(day)
        means = [self._week_mean(category, year - back, week) for back in range(1, YEARS + 1)]
        seen = [m for m in means if m is not None]
        return (sum(seen) / len(seen), len(seen)) if seen else None

    def earlier(self, category: str, day: int) -> float | None:
        """The mean ratio of the day's ISO week in the last YEARS years, None if none was seen."""
        found = self._earlier(category, day)
        return None if found is None else found[0]

    def _fit(self, category: str) -> tuple[float, float]:
        """Σ x·y and Σ x² of the shrink's fit (x: earlier years' ratio − 1, y: this year's)."""
        stored = self.store.get(_fit_key(category))
        return (PRIOR_SHRINK * PRIOR_WEIGHT, PRIOR_WEIGHT) if stored is None else tuple(stored)

    def shrink(self, category: str) -> float:
        """The slope of this year's ratios on earlier years', in [0, 1]."""
        xy, xx = self._fit(category)
        return min(max(xy / xx, 0.0), 1.0)

    def noise(self, category: str) -> float:
        """v: the variance of the error of earlier years' mean of a week as a forecast of the
        season's recurring part, from the weeks seen in both, with the prior."""
        total, weeks = self.store.get(_noise_key(category)) or (0.0, 0.0)
        return (PRIOR_WEEKS * PRIOR_NOISE + total) / (PRIOR_WEEKS + weeks)

    def factors(self, category: str, day: int, days: int) -> list[float]:
        """Yearly factors of `days` days from `day`; empty while no earlier year is known."""
        weeks: dict[tuple[int, int], float | None] = {}
        shrink, noise = self.shrink(category), self.noise(category)
        out = []
        for d in range(day, day + days):
            key = iso_week(d)
            if key not in weeks:
                weeks[key] = self.earlier(category, d)
            mean = weeks[key]
            out.append(1.0 if mean is None else 1.0 + kept(mean - 1.0, shrink, noise))
        return out if any(f != 1.0 for f in out) else []

    def learn(self, category: str, day: int, ratio: float) -> None:
        """Add one SKU-day's demand over baseline to its week; the category's first day of a
        week counts the week before into v."""
        if not math.isfinite(ratio) or ratio < 0:
            return
        ratio = min(float(ratio), RATIO_MAX)
        earlier = self.earlier(category, day)
        if earlier is not None:
            xy, xx = self._fit(category)
            x = earlier - 1.0
            self.store[_fit_key(category)] = [xy + x * (ratio - 1.0), xx + x * x]
        year, week = iso_week(day)
        key = _week_key(category, year, week)
        stored = self.store.get(key)
        if stored is None or stored[0] != year:
            self._count_week(category, day - 7)
            stored = [year, 0.0, 0]
        self.store[key] = [year, stored[1] + ratio, stored[2] + 1]

    def _count_week(self, category: str, day: int) -> None:
        """Add how far earlier years' mean of `day`'s week missed this year's to v's sums."""
        this = self._week_mean(category, *iso_week(day))
        earlier = self._earlier(category, day)
        if this is None or earlier is None:
            return
        mean, years = earlier
        total, weeks = self.store.get(_noise_key(category)) or (0.0, 0.0)
        self.store[_noise_key(category)] = [total + (this - mean) ** 2 / (years + 1), weeks + 1]
