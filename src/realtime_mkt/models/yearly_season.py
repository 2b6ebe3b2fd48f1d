"""A category's yearly season: how far each ISO week's demand ran above or below its SKUs'
levels in earlier years, carried into the same week this year.

Day-of-week factors and a level that follows in days cannot see Black Friday or Christmas
coming: a peak is over before the level has caught up, and next year it is missed again. The
calendar repeats, so each category keeps, for every ISO week, the mean over its SKUs' learned
days of demand over baseline (units at the reference price / (baseline × weekday factor), the
baseline being the SKU's level over a year: `DailyDemand.baseline`; capped at RATIO_MAX), and a
day's yearly factor is

    factor = 1 + shrink · (mean of that week's ratios in the last YEARS years − 1)   (1 if none)

The ratios of one week one year ago carry that year's noise as well as the season, so the
factor is shrunk toward 1 by how much last year's weeks have told about this year's: `shrink`
is the least-squares slope of this year's ratios on last year's (both less 1), through the
origin, clipped to [0, 1], and starts at PRIOR_SHRINK worth PRIOR_WEIGHT of evidence. Noise in
last year's means attenuates that slope by exactly the share of their spread that is season
(errors in the regressor), which is the weight a shrinkage estimator gives them; pooled over
many SKUs a week's mean is sure and the slope nears 1.

Weeks are kept per category, not per SKU: a SKU's own week a year ago is a handful of units,
a category's is many SKUs' worth, a SKU launched in October inherits its category's November,
and the memory is bounded per category (a ring of YEARS + 1 years of 53 weeks, each
[year, sum of ratios, count]) rather than per SKU. Its first year the model learns the weeks
and changes no forecast.

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
_EPOCH = datetime.date(1970, 1, 1).toordinal()


def iso_week(day: int) -> tuple[int, int]:
    """ISO year and week of a UTC day number."""
    year, week, _ = datetime.date.fromordinal(_EPOCH + day).isocalendar()
    return year, week


def _week_key(category: str, year: int, week: int) -> tuple[str, str, int, int]:
    return ("yearly-season", category, year % (YEARS + 1), week)


def _fit_key(category: str) -> tuple[str, str]:
    return ("yearly-season-fit", category)


class CategorySeasons:
    """Every category's ISO weeks and how far last year's weeks foretold this year's."""

    def __init__(self, store: KeyValueStore | None = None) -> None:
        self.store: KeyValueStore = {} if store is None else store

    def _week_mean(self, category: str, year: int, week: int) -> float | None:
        stored = self.store.get(_week_key(category, year, week))
        if stored is None or stored[0] != year or stored[2] == 0:
            return None
        return stored[1] / stored[2]

    def earlier(self, category: str, day: int) -> float | None:
        """The mean ratio of the day's ISO week in the last YEARS years, None if none was seen."""
        year, week = iso_week(day)
        means = [self._week_mean(category, year - back, week) for back in range(1, YEARS + 1)]
        seen = [m for m in means if m is not None]
        return sum(seen) / len(seen) if seen else None

    def _fit(self, category: str) -> tuple[float, float]:
        """Σ x·y and Σ x² of the shrink's fit (x: earlier years' ratio − 1, y: this year's)."""
        stored = self.store.get(_fit_key(category))
        return (PRIOR_SHRINK * PRIOR_WEIGHT, PRIOR_WEIGHT) if stored is None else tuple(stored)

    def shrink(self, category: str) -> float:
        """The slope of this year's ratios on earlier years', in [0, 1]."""
        xy, xx = self._fit(category)
        return min(max(xy / xx, 0.0), 1.0)

    def factors(self, category: str, day: int, days: int) -> list[float]:
        """Yearly factors of `days` days from `day`; empty while no earlier year is known."""
        weeks: dict[tuple[int, int], float | None] = {}
        shrink = self.shrink(category)
        out = []
        for d in range(day, day + days):
            key = iso_week(d)
            if key not in weeks:
                weeks[key] = self.earlier(category, d)
            mean = weeks[key]
            out.append(1.0 if mean is None else 1.0 + shrink * (mean - 1.0))
        return out if any(f != 1.0 for f in out) else []

    def learn(self, category: str, day: int, ratio: float) -> None:
        """Add one SKU-day's demand over baseline to its week, and to the fit of the shrink."""
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
        total, count = (
            (stored[1], stored[2]) if stored is not None and stored[0] == year else (0, 0)
        )
        self.store[key] = [year, total + ratio, count + 1]
