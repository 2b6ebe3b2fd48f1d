"""Clicks as a leading signal of demand.

Clicks on a SKU move before its orders do. This model keeps the SKU's usual clicks per day and,
for each of the last few days, how far that day's clicks were above or below usual (the click
surprise). It learns online how much a click surprise on day d−1 predicts the demand surprise on
day d (a slope through the origin, exponentially weighted), and turns yesterday's click surprise
into a multiplier for the demand forecast, clipped to [0.5, 2]. Compact: a few numbers per SKU.

A click counts in its own day (event time): one of a day not open yet waits in that day's count
(`ahead`) until the day opens; one of a day closed already is late, and counts in the open day.
The open day is the SKU's demand day, so clicks close their days under the same watermark as
sales (`streaming/read_progress.py`). Until the first day closes, the clicks of days before it
wait too, since the first day moves back to an earlier sale's (`move_first_day`); what is left
of them counts in the first day.
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
    ahead: dict[int, float] = field(default_factory=dict)  # day -> clicks, of days not open yet

    def advance(self, day: int) -> None:
        """Close every day before `day` (days without clicks count as zero clicks); open `day`."""
        if self.day is None:
            self.day, self.today = day, self.ahead.pop(day, 0.0)
            return
        while self.day < day:
            self._close_day()
            following = self.day + 1
            self._open(day if day - following > 30 else following)  # a long silence: skip

    def _open(self, day: int) -> None:
        """Make `day` the open day, with the clicks that waited for it (and those of days
        skipped)."""
        self.day = day
        self.today = sum(clicks for d, clicks in self.ahead.items() if d <= day)
        self.ahead = {d: clicks for d, clicks in self.ahead.items() if d > day}

    def move_first_day(self, day: int) -> None:
        """While no day is closed, make an earlier `day` the open one, the open day's clicks
        waiting for theirs (as `DailyDemand.move_first_day` does for sales)."""
        if self.day is None or day >= self.day or self.n > 0:
            return
        if self.today:
            self.ahead[self.day] = self.today
        self.day, self.today = day, self.ahead.pop(day, 0.0)

    def add_click(self, day: int) -> bool:
        """One click or add-to-cart on the SKU on `day`; returns whether it is late: its day is
        closed, so it counts in the open day."""
        if self.day is None or day > self.day or (day < self.day and self.n == 0):
            self.ahead[day] = self.ahead.get(day, 0.0) + 1.0
            return False
        self.today += 1.0
        return day < self.day

    def _close_day(self) -> None:
        assert self.day is not None
        earlier = [d for d in self.ahead if d < self.day]  # the first day's: days before it
        self.today += sum(self.ahead.pop(d) for d in earlier)
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
        waiting = [[day, clicks] for day, clicks in self.ahead.items()]
        return [
            self.day,
            self.today,
            self.level,
            self.n,
            self.surprises,
            self.sxy,
            self.sxx,
            waiting,
        ]

    @classmethod
    def from_list(cls, data: list) -> ClickSignal:
        """Inverse of `to_list` (a state stored before clicks waited for their day has none)."""
        *fields, waiting = data if len(data) == 8 else [*data, []]
        return cls(*fields, ahead={int(day): clicks for day, clicks in waiting})
