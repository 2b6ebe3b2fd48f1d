"""Clicks as a leading signal of demand.

Clicks on a SKU move before its orders do. This model keeps the SKU's usual clicks per day and,
for each of the last few days, how far that day's clicks were above or below usual (the click
surprise). It learns online how much a click surprise on day d−1 predicts the demand surprise on
day d (a slope through the origin, exponentially weighted), and turns yesterday's click surprise
into a multiplier for the demand forecast, clipped to [0.5, 2]. Compact: a few numbers per SKU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RATE = 0.05
MIN_DAYS = 7


@dataclass(slots=True)
class ClickSignal:
    """Per-SKU click level, recent click surprises and their learned effect on demand."""

    day: int | None = None
    today: float = 0.0  # clicks in the open day
    level: float = 0.0  # usual clicks per day (exponentially weighted)
    n: int = 0
    surprises: list[list[float]] = field(default_factory=list)  # [day, clicks/level − 1], last 3
    sxy: float = 0.0  # EW sums of (click surprise × demand surprise) and (click surprise²)
    sxx: float = 0.0

    def advance(self, day: int) -> None:
        """Close every day before `day` (days without clicks count as zero clicks)."""
        if self.day is None:
            self.day = day
            return
        while self.day < day:
            self._close_day()
            self.day += 1
            self.today = 0.0
            if day - self.day > 30:  # a long silence: skip ahead
                self.day = day

    def add_click(self) -> None:
        """One click or add-to-cart on the SKU in the open day."""
        self.today += 1.0

    def _close_day(self) -> None:
        assert self.day is not None
        if self.n >= MIN_DAYS and self.level > 0:
            self.surprises = [*self.surprises[-2:], [self.day, self.today / self.level - 1.0]]
        self.n += 1
        self.level += max(1.0 / self.n, RATE) * (self.today - self.level)

    def surprise(self, day: int) -> float | None:
        """The click surprise of `day`, if known."""
        return next((s for d, s in self.surprises if d == day), None)

    def learn(self, day: int, demand_surprise: float) -> None:
        """Relate the demand surprise of `day` to the click surprise of the day before."""
        x = self.surprise(day - 1)
        if x is None:
            return
        self.sxy = (1 - RATE) * self.sxy + RATE * x * demand_surprise
        self.sxx = (1 - RATE) * self.sxx + RATE * x * x

    def multiplier(self, day: int) -> float:
        """Demand multiplier for `day` from the click surprise of the day before."""
        x = self.surprise(day - 1)
        if x is None or self.sxx < 1e-6:
            return 1.0
        return min(max(1.0 + self.sxy / self.sxx * x, 0.5), 2.0)

    def to_list(self) -> list:
        """Compact form for table storage."""
        return [self.day, self.today, self.level, self.n, self.surprises, self.sxy, self.sxx]

    @classmethod
    def from_list(cls, data: list) -> ClickSignal:
        """Inverse of `to_list`."""
        return cls(*data)
