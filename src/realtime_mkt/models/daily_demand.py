"""Per-SKU daily demand by event time: an exponentially weighted level, day-of-week factors and
the spread of the one-day-ahead forecast error.

    forecast for day d = level × season[weekday(d)] × yearly(d) × price factor,
    error spread σ = EW std of (actual − forecast) / yearly(d) × calibration scale × yearly(d)

The level's learning rate is 2 / (span + 1), raised to a fast rate while Trigg's tracking signal
reports a shift (errors persistently on one side), so a level that jumped is followed in days.

The calibration scale is adaptive conformal inference (Gibbs & Candès, 2021) on the 90 %
interval forecast ± 1.645 σ: each learned day multiplies it by exp(η (miss − 0.1)), so it grows
while more than one day in ten falls outside and shrinks while fewer do. Daily counts are
discrete, skewed at small means and shift when demand does, so a normal σ alone covers less
than nominal; the scale corrects that per SKU, and restock's safety stock inherits it. A young
SKU's σ is also widened by Student's t for its few days of history.

The level is demand at the SKU's reference (list) price: each day's units are divided by the
price factor (day price / reference price)^elasticity the engine passes in, and forecasts are
multiplied back by the factor of the price they are for. So the engine's own price moves are
not mistaken for changes in demand.

State is a handful of numbers so it is cheap to keep per SKU in a table. Days on which the SKU
was out of stock are *censored* (sales were capped by stock, not by demand): their sales are a
lower bound on demand. Such a day is learned only when even that bound beats the forecast (a
cautious step up); otherwise skipping it keeps a stock-out from passing for low demand, and
learning from the bound is what lets a level that jumped catch up while every day sells out.
When the SKU ran out tightens the bound: the day keeps its spans without stock (`mark_stock`),
and while it had stock for MIN_IN_STOCK_SHARE or more of the day's demand (`in_stock_share`,
read from when in the day orders come: `intraday_profile`), the bound is the rate demand came
at while in stock over the whole day: the units ordered before the order that emptied the
shelf, over that share (k − 1 arrivals by the k-th's time: the rate's unbiased estimate). Read
as an estimate rather than a bound (learned also when below the forecast, and by the yearly
season), it lowered stock but lost more units on the simulator's holidays market.
The level is the plain mean while younger than the span; weekday factors start learning after
two weeks and are kept normalised to average 1. The yearly factors are the SKU's category's
(`yearly_season`), set by the engine for the open day and the days its forecasts reach (1 on
any other day, and everywhere while the category has no earlier year); each closed day reports
its demand over a slow *baseline* for the category to learn them: the level over thirteen
spans (a year of days), without the tracking signal's fast rate, as a classical decomposition
divides by a year's moving average. Over the level itself, a peak the level chases (its
tracking signal fires within days) would read smaller than it is and leave an echo below 1 in
the weeks after it, which the category would forecast as a trough next year; on Walmart's
weekly sales the baseline brought MASE against the same week last year from 0.84 to 0.77. A
shorter baseline rises through a season of several peak weeks and reads its later weeks low.

Sales of a day after the open one, which the engine does not close yet (other sales of the open
day are still on their way: `InputEvent.closing_bound`), wait in their own day's bucket
(`ahead`) until that day opens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from realtime_mkt.models.intraday_profile import SECONDS_PER_DAY, DemandShare, clock_share

MAX_GAP_DAYS = 60  # a jump in event time longer than this learns at most this many empty days
SEASON_AFTER_DAYS = 14
FORECAST_AFTER_DAYS = 7  # days learned before the level is a forecast
SPAN_DAYS = 28  # the level's span: past it, it learns at 2 / (span + 1) a day
SEASON_RATE = 0.1
BASELINE_SPANS = 13  # the baseline's span, in spans of the level: a year of daily demand
PI90_Z = 1.645
CALIBRATION_RATE = 0.1  # η of the adaptive conformal update
CALIBRATION_BOUNDS = (0.5, 4.0)
TRACKING_RATE = 0.1  # β of the smoothed error and absolute error behind the tracking signal
TRACKING_CLIP = 2.0  # errors enter the signal clipped at this many smoothed absolute errors
TRACKING_ALARM = 0.7  # |signal| above which the level learns faster
TRACKING_MAX_RATE = 0.25  # the level's learning rate while the signal is above the alarm
MIN_IN_STOCK_SHARE = 0.25  # of a day's demand: a censored day's in-stock rate is read from this on


def day_of(ts: float) -> int:
    """The UTC day number of an epoch timestamp."""
    return int(ts // SECONDS_PER_DAY)


def weekday(day: int) -> int:
    """0 = Monday for a UTC day number (day 0, 1970-01-01, was a Thursday)."""
    return (day + 3) % 7


@dataclass(frozen=True, slots=True)
class ClosedDay:
    """A day the model learned: units, revenue, its demand surprise (units at the reference
    price over the forecast, minus one), that forecast (units at the reference price, made
    before the day) and its units at the reference price over the baseline and weekday factor,
    for the category's yearly season; all three None while the model is too young to forecast."""

    day: int
    units: float
    revenue: float
    surprise: float | None
    expected: float | None
    baseline_ratio: float | None = (
        None  # units at the reference price / (baseline × weekday factor)
    )


@dataclass(slots=True)
class DailyDemand:
    """Running estimate of units per day; `day` is the open (not yet learned) day bucket."""

    day: int | None = None
    units: float = 0.0
    revenue: float = 0.0
    censored: bool = False
    n: int = 0
    level: float = 0.0
    var: float = 0.0
    season: list[float] = field(default_factory=lambda: [1.0] * 7)
    span_days: int = SPAN_DAYS
    scale: float = 1.0
    error_mean: float = 0.0  # smoothed forecast error (units, at the reference price)
    error_abs: float = 0.0  # smoothed absolute forecast error
    ahead: dict[int, list[float]] = field(default_factory=dict)  # day -> [units, revenue]
    yearly_from: int | None = None  # the day `yearly[0]` is for
    yearly: list[float] = field(default_factory=list)  # yearly factors from `yearly_from` on
    baseline: float = 0.0  # the level over BASELINE_SPANS spans, without the tracking signal
    weekdays: bool = True  # learn day-of-week factors (False for a series of weekly totals)
    out_since: float | None = None  # seconds into the open day it last ran out (None: in stock)
    out_share: float = 0.0  # share of a day's demand in its spans out of stock before that
    beyond_stock: float = 0.0  # units of the open day's orders that emptied the stock

    def advance(
        self,
        day: int,
        stocked_out: bool,
        price_factor: float = 1.0,
        signal: float = 1.0,
        share: DemandShare = clock_share,
    ) -> list[ClosedDay]:
        """Close every day before `day`, learning each uncensored one (and each censored one
        whose sales beat the forecast); open `day`.

        `price_factor` is the demand multiplier of the closing days' price against the reference
        price; `signal` the other factor the open day's served forecast carried (the click
        signal's): errors, and so σ and its calibration, are those of the forecast as served,
        while the level learns demand at the reference price without it. Returns each closed,
        uncensored day, for the price-response and click models.
        """
        if self.day is None:
            self._start(day, stocked_out)
            return []
        gap = day - self.day
        if gap <= 0:
            return []
        closed = [self._close_day(price_factor, signal, share)]
        # the days between: empty, or with the sales that waited for them (a gap's days past
        # MAX_GAP_DAYS are not learned)
        for between in range(self.day + 1, min(day, self.day + 1 + MAX_GAP_DAYS)):
            self._open(between, stocked_out)
            closed.append(self._close_day(price_factor, 1.0, share))
        self._open(day, stocked_out)
        self.ahead = {d: sold for d, sold in self.ahead.items() if d > day}
        return [c for c in closed if c is not None]

    def _start(self, day: int, stocked_out: bool) -> None:
        """Make `day` the open day, out of stock from its start if `stocked_out`."""
        self.day, self.censored = day, stocked_out
        self.out_since, self.out_share = (0.0 if stocked_out else None), 0.0

    def _open(self, day: int, stocked_out: bool) -> None:
        """Make `day` the open day, with the sales that waited for it."""
        self._start(day, stocked_out)
        self.beyond_stock = 0.0
        self.units, self.revenue = self.ahead.pop(day, (0.0, 0.0))

    def move_first_day(self, day: int) -> None:
        """While no day is learned, make an earlier `day` the open one, the open day's sales
        waiting for theirs: the first day is that of the earliest sale, whichever came first."""
        if self.day is None or day >= self.day or self.n > 0:
            return
        if self.units or self.revenue:
            self.ahead[self.day] = [self.units, self.revenue]
        self.day, self.units, self.revenue = day, 0.0, 0.0

    def add_sale(
        self, units: float, unit_price: float, day: int | None = None, beyond_stock: float = 0.0
    ) -> None:
        """Record units sold (negative for cancellations) at a price on `day`: the open day's
        (also for an earlier `day`: a closed day is not learned again), or a later day's, kept
        until that day opens. `beyond_stock`: the units of an order that took the last of the stock
        (or found too little): what came before it says how fast demand came while in stock."""
        if day is not None and self.day is not None and day > self.day:
            sold = self.ahead.setdefault(day, [0.0, 0.0])
            sold[0] = max(0.0, sold[0] + units)
            sold[1] = max(0.0, sold[1] + units * unit_price)
            return
        self.units = max(0.0, self.units + units)
        self.revenue = max(0.0, self.revenue + units * unit_price)
        self.beyond_stock += beyond_stock

    def set_yearly(self, day: int, factors: list[float]) -> None:
        """The yearly factors of `day` and the days after it (empty: all 1)."""
        self.yearly_from, self.yearly = (day, factors) if factors else (None, [])

    def yearly_factor(self, day: int) -> float:
        """The yearly factor of `day`: 1 outside the days set."""
        if self.yearly_from is None or not 0 <= day - self.yearly_from < len(self.yearly):
            return 1.0
        return self.yearly[day - self.yearly_from]

    def yearly_mean(self, day: int, days: int) -> float:
        """The mean yearly factor of `days` days from `day`."""
        return sum(self.yearly_factor(day + k) for k in range(days)) / days

    def mark_stock(self, out: bool, at: float, share: DemandShare = clock_share) -> None:
        """The SKU's stock after an event `at` seconds into the open day (clipped to the day):
        running out makes the day's sales a lower bound, and the share of the day's demand that
        came while out of stock (`share`: when in the day demand comes) says how far below."""
        at = min(max(at, 0.0), SECONDS_PER_DAY)
        if out and self.out_since is None:
            self.censored, self.out_since = True, at
        elif not out and self.out_since is not None:
            self.out_share += share(self.out_since, at)
            self.out_since = None

    def in_stock_share(self, share: DemandShare = clock_share) -> float:
        """The share of the open day's demand that comes while the SKU has stock (so far, and
        to the day's end as it stands)."""
        out = self.out_share
        if self.out_since is not None:
            out += share(self.out_since, SECONDS_PER_DAY)
        return max(1.0 - out, 0.0)

    def _close_day(
        self, price_factor: float, signal: float, share: DemandShare
    ) -> ClosedDay | None:
        assert self.day is not None
        weekday_factor = self.season[weekday(self.day)]
        yearly = self.yearly_factor(self.day)
        factor = weekday_factor * yearly
        reference_units = self.units / price_factor  # what would have sold at the reference price
        expected = self.level * factor
        if self.censored and (in_stock := self.in_stock_share(share)) >= MIN_IN_STOCK_SHARE:
            # the rate demand came at while in stock, over the whole day, is a closer bound (the
            # order that emptied the stock and those taken without stock are demand too)
            from_stock = max(self.units - self.beyond_stock, 0.0) / price_factor
            reference_units = max(reference_units, from_stock / in_stock)
        if self.censored and (self.n < 2 or reference_units <= expected):
            return None  # sales capped by stock say nothing unless they beat the forecast
        forecast = expected if self.n >= FORECAST_AFTER_DAYS else None
        surprise = (
            reference_units / expected - 1.0 if forecast is not None and expected > 0 else None
        )
        baseline_ratio = (
            reference_units / (self.baseline * weekday_factor)
            if forecast is not None and self.baseline > 0
            else None
        )
        # errors grow with the yearly factor (a week that sells 2.5× errs about 2.5× as much):
        # σ is kept for an ordinary day, and a day's interval is σ times its factor
        error = self.units - expected * price_factor * signal
        if self.n >= 2:
            self._calibrate(abs(error) > PI90_Z * self._spread() * yearly)
            self._track(reference_units - expected)
        self.n += 1
        alpha = max(1.0 / self.n, 2.0 / (self.span_days + 1))
        if self.shifting:
            alpha = max(alpha, TRACKING_MAX_RATE)
        error = error / yearly if self.n > 1 else 0.0
        self.var = (1.0 - alpha) * (self.var + alpha * error * error) if self.n > 1 else 0.0
        self.level += alpha * (reference_units / factor - self.level)
        slow = max(1.0 / self.n, 2.0 / (BASELINE_SPANS * self.span_days + 1))
        self.baseline += slow * (reference_units / factor - self.baseline)
        if self.weekdays and self.n > SEASON_AFTER_DAYS and self.level > 0:
            self._learn_season(weekday(self.day), reference_units / (self.level * yearly))
        if self.censored:  # a lower bound: good for the level, not for price or click responses
            return None
        return ClosedDay(self.day, self.units, self.revenue, surprise, forecast, baseline_ratio)

    def _calibrate(self, missed: bool) -> None:
        step = math.exp(CALIBRATION_RATE * ((1.0 if missed else 0.0) - 0.1))
        low, high = CALIBRATION_BOUNDS
        self.scale = min(max(self.scale * step, low), high)

    def _track(self, error: float) -> None:
        if self.error_abs > 0:  # one huge surprise (a holiday) must not pass for a shift
            bound = TRACKING_CLIP * self.error_abs
            error = min(max(error, -bound), bound)
        self.error_mean += TRACKING_RATE * (error - self.error_mean)
        self.error_abs += TRACKING_RATE * (abs(error) - self.error_abs)

    @property
    def shifting(self) -> bool:
        """Trigg's tracking signal (smoothed error over smoothed absolute error, in [-1, 1])
        reports a level shift, so the level learns at TRACKING_MAX_RATE: the mean is off.

        The signal stays near 0 while errors fall on both sides and nears ±1 once they keep
        falling on one side, so a level that jumped is caught up in days rather than a span. A
        fixed rate rather than the signal itself (Trigg and Leach's adaptive rate) keeps a
        holiday peak from dragging the level along: on Walmart's weekly sales the raw signal as
        rate did worse than no signal. While younger than half a span the plain mean follows
        fast enough (and a few errors make any signal look like ±1)."""
        if self.n <= self.span_days // 2:
            return False
        return self.tracking_signal > TRACKING_ALARM

    @property
    def tracking_signal(self) -> float:
        """|Trigg's tracking signal|: 0 while forecast errors fall on both sides, near 1 once
        they keep falling on one."""
        return abs(self.error_mean) / self.error_abs if self.error_abs > 0 else 0.0

    def _spread(self) -> float:
        """The calibrated standard deviation of a one-day forecast error.

        While young, σ is estimated from few days, so it is widened by Student's t over the
        normal quantile (Cornish–Fisher approximation) at the estimate's degrees of freedom.
        """
        correction = self.n / (self.n - 1) if self.n > 1 else 1.0
        dof = min(max(self.n - 1, 1), self.span_days)
        z = PI90_Z
        t = z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)
        return math.sqrt(self.var * min(correction, 2.0)) * (t / z) * self.scale

    def _learn_season(self, dow: int, ratio: float) -> None:
        season = self.season
        season[dow] += SEASON_RATE * (min(ratio, 5.0) - season[dow])
        mean = sum(season) / 7
        if mean > 0:
            self.season = [max(f / mean, 0.05) for f in season]

    def forecast(
        self, day: int | None = None, days: int = 1, price_factor: float = 1.0
    ) -> tuple[float, float]:
        """Mean and standard deviation of units per day over `days` days from `day`.

        Without `day` the mean is the level (neither weekday nor yearly factor). `price_factor`
        is the demand multiplier of the price the forecast is for. The spread is that of a
        one-day forecast error (sample-size corrected while young, and calibrated), times the
        days' mean yearly factor.
        """
        std = self._spread()
        if day is None:
            return self.level * price_factor, std
        days = max(days, 1)
        factors = [self.season[weekday(day + k)] * self.yearly_factor(day + k) for k in range(days)]
        mean = self.level * price_factor * sum(factors) / days
        return mean, std * self.yearly_mean(day, days)

    def to_list(self) -> list:
        """Compact form for table storage."""
        return [
            self.day,
            self.units,
            self.revenue,
            self.censored,
            self.n,
            self.level,
            self.var,
            self.season,
            self.scale,
            self.error_mean,
            self.error_abs,
            [[day, *sold] for day, sold in self.ahead.items()],
            [] if self.yearly_from is None else [self.yearly_from, *self.yearly],
            self.baseline,
            self.out_since,
            self.out_share,
            self.beyond_stock,
        ]

    @classmethod
    def from_list(cls, data: list) -> DailyDemand:
        """Inverse of `to_list`."""
        day, units, revenue, censored, n, level, var, season, scale, *later = data
        model = cls(day, units, revenue, censored, n, level, var, season, scale=scale)
        if later:  # states written before the tracking signal start it at zero
            model.error_mean, model.error_abs = later[:2]
        if len(later) > 2:  # and had no sales of later days waiting
            model.ahead = {int(waiting[0]): list(waiting[1:]) for waiting in later[2]}
        if len(later) > 3 and later[3]:  # and no yearly factors
            model.set_yearly(int(later[3][0]), list(later[3][1:]))
        # and no baseline, which starts from the level
        model.baseline = later[4] if len(later) > 4 else model.level
        if len(later) > 5:  # and no time out of stock: a censored open day stays a bound
            model.out_since, model.out_share, model.beyond_stock = later[5:8]
        elif censored:
            model.out_since = 0.0
        return model
