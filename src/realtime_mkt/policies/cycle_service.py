"""Feedback from the restock policy's own record: the safety factor follows the cycle service
level the SKU actually achieved.

A replenishment cycle runs from one receipt to the next; it *stocked out* if the SKU ran out of
stock at any time in between. z·σ·√L hits the target only if the one-day error spread
grows like √ days over the lead time and nothing else moves demand, but the engine's own
price cuts and promotions raise demand after an order is placed, forecast errors are correlated
over a long lead time, and a supplier that delivers early in its lead-time day leaves more
stock than planned. On the simulator those effects made the realised cycle service level run
from 92.5 % (7-day lead times) to 99.2 % (2-day lead times) against a 95 % target.

So each SKU corrects its own z with adaptive conformal inference (Gibbs & Candès, 2021) on its
cycles: every cycle that ends moves an offset added to z = Φ⁻¹(target) by
η·(stocked_out − (1 − target)). At a 95 % target a stock-out raises z by 0.38 and a clean cycle
lowers it by 0.02, so z is in equilibrium only while one cycle in twenty stocks out, whatever
the forecast gets wrong. z stays within [0, Z_MAX]: safety stock is never negative, and a burst
of stock-outs cannot raise it without bound. A stock-out while the demand model's tracking
signal reports a level shift is the mean's error, which the level is already catching up: that
cycle does not move z (it is still counted).

One SKU closes a cycle every few days, so its own correction takes most of a season to find its
level: on the simulator (steady market, seed 7) the mean z stayed within 0.05 of Φ⁻¹(target)
for the first 45 days while SKUs with 2-day lead times served 96–99 % of their cycles and those
with 7-day lead times 91 %. Much of the
error is shared by every SKU of a lead time (an order arrives early in its last day, which is a
quarter of a 2-day lead time's cover and a fourteenth of a 7-day one's; forecast errors repeat
over a long one). So the same update also moves a correction pooled over every SKU of that lead
time (`CyclePool`, POOL_RATE per cycle), which hears from all of them; the SKU's own correction
keeps what is particular to it, and z = Φ⁻¹(target) + both. A SKU whose forecast errors lean to
one side (tracking signal of POOL_SIGNAL_MAX or more; a young SKU's few errors usually do) is
telling about its own mean, not about its lead time: its cycles move its own correction only.
Otherwise the SKUs hit by a demand shock, which stock out before their level is known to shift,
would raise every SKU's z.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from realtime_mkt.key_value import KeyValueStore
from realtime_mkt.policies.restock import safety_factor

RATE = 0.4  # η: the change of z per unit of (stocked_out − target miss rate)
POOL_RATE = 0.1  # η of the correction pooled over a lead time's SKUs, per cycle of any of them
POOL_SIGNAL_MAX = 0.4  # a SKU whose |tracking signal| is this or more does not teach the pool
Z_MAX = 3.0  # Φ(3) = 99.87 %: a burst of stock-outs must not buy a year of excess stock


def _bounded(offset: float, service_level: float) -> float:
    """`offset` kept so that z = Φ⁻¹(target) + offset stays within [0, Z_MAX]."""
    base = safety_factor(service_level)
    return min(max(offset, -base), Z_MAX - base)


def _step(rate: float, stocked_out: bool, service_level: float) -> float:
    return rate * (float(stocked_out) - (1.0 - service_level))


class ClosedCycle(NamedTuple):
    """A replenishment cycle a receipt ended: whether it ran out of stock, and whether the
    correction learned from it (not when the stock-out was left to a shifting mean)."""

    stocked_out: bool
    learned: bool


@dataclass(slots=True)
class CycleService:
    """One SKU's replenishment cycles and the correction they earned its safety factor."""

    offset: float = 0.0  # added to Φ⁻¹(target)
    cycles: int = 0
    stockouts: int = 0  # cycles that ran out of stock
    stocked_out: bool = False  # the open cycle has run out of stock
    shifted: bool = False  # ... while the demand level was shifting
    closed_day: int | None = None  # the day the last cycle ended
    pooled: float = 0.0  # the lead time's pooled correction at the SKU's last evaluation

    def observe_stockout(self, shifting: bool) -> None:
        """The SKU has nothing on hand: the open cycle missed. `shifting`: the demand model's
        tracking signal reports a level shift, so the miss is the mean's, not the spread's."""
        self.stocked_out = True
        self.shifted = self.shifted or shifting

    def close(self, day: int, service_level: float) -> ClosedCycle | None:
        """A receipt on `day` ends the open cycle (several receipts on one day end one cycle):
        the cycle it ended, or None for a second receipt that day."""
        if self.closed_day == day:
            return None
        self.closed_day = day
        self.cycles += 1
        self.stockouts += self.stocked_out
        closed = ClosedCycle(self.stocked_out, learned=not self.shifted)
        if closed.learned:
            step = _step(RATE, closed.stocked_out, service_level)
            self.offset = _bounded(self.offset + step, service_level)
        self.stocked_out = self.shifted = False
        return closed

    def counts(self) -> dict[str, int]:
        """The cycles so far and those that stocked out (as restock requests and views show them)."""
        return {"cycles": self.cycles, "stocked_out_cycles": self.stockouts}

    def to_list(self) -> list:
        """Compact form for table storage."""
        return [
            self.offset,
            self.cycles,
            self.stockouts,
            self.stocked_out,
            self.shifted,
            self.closed_day,
            self.pooled,
        ]

    @classmethod
    def from_list(cls, data: list) -> CycleService:
        """Inverse of `to_list` (a state stored before `pooled` was kept reads it as 0)."""
        return cls(*data)


def pool_key(lead_time_days: float) -> tuple[str, str]:
    """The pooled correction's key in a store shared with SKU states (keyed by bare `sku_id`)."""
    return ("cycle-pool", f"{lead_time_days:g}")


class CyclePool:
    """The safety-factor correction shared by the SKUs of each lead time.

    `store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's batch
    sees it, on the partition of the SKU whose events it applies. There each
    partition keeps its own pool (the table's store and changelog are per partition), which
    learns from that partition's SKUs in their input order and moves with the partition.
    """

    def __init__(self, store: KeyValueStore | None = None) -> None:
        self.store: KeyValueStore = {} if store is None else store

    def offset(self, lead_time_days: float) -> float:
        """What the lead time's cycles add to every one of its SKUs' safety factor."""
        return self.store.get(pool_key(lead_time_days)) or 0.0

    def learn(self, lead_time_days: float, stocked_out: bool, service_level: float) -> None:
        """Move the lead time's correction by one of its SKUs' closed cycles."""
        offset = self.offset(lead_time_days) + _step(POOL_RATE, stocked_out, service_level)
        self.store[pool_key(lead_time_days)] = _bounded(offset, service_level)


def safety_correction(service: CycleService, pooled: float, service_level: float) -> float:
    """The SKU's correction plus its lead time's, z kept within [0, Z_MAX]."""
    return _bounded(service.offset + pooled, service_level)
