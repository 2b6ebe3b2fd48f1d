"""When in the day demand comes: the share of a day's orders by time of day, learned from them.

A SKU that sold out at 15:00 missed the rest of the day's demand, and how much that was depends
on when shoppers buy: a shop whose evenings sell most has lost more than a quarter of its day at
18:00. So each placed order line counts its units in its hour of the day (UTC) over every SKU of
the partition, and the demand model reads a day's time in stock as the share of a day's orders
that fall in it (`DailyDemand.in_stock_share`), not as a share of the clock.

Counts start from a uniform prior of PRIOR_UNITS units per hour, so a young partition reads the
clock; once the counts pass MAX_UNITS they are halved, so recent weeks weigh most and the counts
stay bounded. Within an hour the share grows evenly. One entry per partition, in the store shared
with SKU states, as restock's `CyclePool` is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from realtime_mkt.key_value import KeyValueStore

HOURS = 24
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = HOURS * SECONDS_PER_HOUR
PRIOR_UNITS = 10.0  # per hour: a few hundred units of orders outweigh the uniform start
MAX_UNITS = 1_000_000.0  # counts are halved past this total

DemandShare = Callable[[float, float], float]
"""The share of a day's demand that comes between two times of day (seconds after midnight)."""

KEY = ("intraday-profile", "order-units")


def clock_share(start: float, end: float) -> float:
    """Demand spread evenly over the day: the share of the clock between two times of day."""
    return max(end - start, 0.0) / SECONDS_PER_DAY


class IntradayProfile:
    """Units ordered per hour of the day, over the SKUs of a partition."""

    def __init__(self, store: KeyValueStore | None = None) -> None:
        self.store: KeyValueStore = {} if store is None else store

    def counts(self) -> list[float]:
        """Units ordered in each hour of the day (UTC), with the prior."""
        stored = self.store.get(KEY)
        return [PRIOR_UNITS] * HOURS if stored is None else stored

    def learn(self, ts: float, units: float) -> None:
        """Count `units` ordered at epoch time `ts`."""
        if units <= 0:
            return
        counts = list(self.counts())
        counts[int(ts % SECONDS_PER_DAY // SECONDS_PER_HOUR)] += units
        if sum(counts) > MAX_UNITS:
            counts = [c / 2 for c in counts]
        self.store[KEY] = counts

    def share(self, start: float, end: float) -> float:
        """The share of a day's orders that come between `start` and `end` (seconds after
        midnight, within the day)."""
        counts = self.counts()
        return max(_cumulative(counts, end) - _cumulative(counts, start), 0.0) / sum(counts)


def _cumulative(counts: list[float], at: float) -> float:
    """Units of a day's `counts` ordered before `at` seconds after midnight."""
    hour, within = divmod(min(max(at, 0.0), SECONDS_PER_DAY), SECONDS_PER_HOUR)
    whole = int(hour)
    partial = counts[whole] * within / SECONDS_PER_HOUR if whole < HOURS else 0.0
    return sum(counts[:whole]) + partial
