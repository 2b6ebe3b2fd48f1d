"""Per-SKU daily demand: exponentially weighted mean and variance of daily units, by event time.

State is a handful of numbers so it is cheap to store per SKU in a table. Days on which the SKU
was out of stock are *censored* (sales were capped by stock, not by demand) and are not learned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400.0
MAX_GAP_DAYS = 60  # a jump in event time longer than this learns at most this many empty days


def day_of(ts: float) -> int:
    """The UTC day number of an epoch timestamp."""
    return int(ts // SECONDS_PER_DAY)


@dataclass(slots=True)
class DailyDemand:
    """Running estimate of units per day; `day` is the open (not yet learned) day bucket."""

    day: int | None = None
    units: float = 0.0
    revenue: float = 0.0
    censored: bool = False
    n: int = 0
    mean: float = 0.0
    var: float = 0.0
    span_days: int = 28

    def advance(self, day: int, stocked_out: bool) -> list[tuple[float, float]]:
        """Close every day before `day`, learning each uncensored one; open `day`.

        Returns (units, revenue) of each closed, uncensored day, for the price-response model.
        """
        if self.day is None:
            self.day, self.censored = day, stocked_out
            return []
        gap = day - self.day
        if gap <= 0:
            return []
        closed = [self._close_day()]
        for _ in range(min(gap - 1, MAX_GAP_DAYS)):  # days without any event for this SKU
            self.units, self.revenue, self.censored = 0.0, 0.0, stocked_out
            closed.append(self._close_day())
        self.day, self.units, self.revenue, self.censored = day, 0.0, 0.0, stocked_out
        return [c for c in closed if c is not None]

    def add_sale(self, units: float, unit_price: float) -> None:
        """Record units sold (negative for cancellations) at a price in the open day."""
        self.units = max(0.0, self.units + units)
        self.revenue = max(0.0, self.revenue + units * unit_price)

    def mark_stockout(self) -> None:
        """The SKU ran out of stock during the open day: its sales are only a lower bound."""
        self.censored = True

    def _close_day(self) -> tuple[float, float] | None:
        if self.censored:
            return None
        self.n += 1
        alpha = max(1.0 / self.n, 2.0 / (self.span_days + 1))
        delta = self.units - self.mean
        self.mean += alpha * delta
        self.var = (1.0 - alpha) * (self.var + alpha * delta * delta)
        return self.units, self.revenue

    def forecast(self) -> tuple[float, float]:
        """Mean and standard deviation of units per day (sample-size corrected while young)."""
        correction = self.n / (self.n - 1) if self.n > 1 else 1.0
        return self.mean, math.sqrt(self.var * min(correction, 2.0))

    def to_list(self) -> list:
        """Compact form for table storage."""
        return [self.day, self.units, self.revenue, self.censored, self.n, self.mean, self.var]

    @classmethod
    def from_list(cls, data: list) -> DailyDemand:
        """Inverse of `to_list`."""
        day, units, revenue, censored, n, mean, var = data
        return cls(day, units, revenue, censored, n, mean, var)
