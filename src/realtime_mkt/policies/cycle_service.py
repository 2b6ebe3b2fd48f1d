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
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_mkt.policies.restock import safety_factor

RATE = 0.4  # η: the change of z per unit of (stocked_out − target miss rate)
Z_MAX = 3.0  # Φ(3) = 99.87 %: a burst of stock-outs must not buy a year of excess stock


@dataclass(slots=True)
class CycleService:
    """One SKU's replenishment cycles and the correction they earned its safety factor."""

    offset: float = 0.0  # added to Φ⁻¹(target)
    cycles: int = 0
    stockouts: int = 0  # cycles that ran out of stock
    stocked_out: bool = False  # the open cycle has run out of stock
    shifted: bool = False  # ... while the demand level was shifting
    closed_day: int | None = None  # the day the last cycle ended

    def observe_stockout(self, shifting: bool) -> None:
        """The SKU has nothing on hand: the open cycle missed. `shifting`: the demand model's
        tracking signal reports a level shift, so the miss is the mean's, not the spread's."""
        self.stocked_out = True
        self.shifted = self.shifted or shifting

    def close(self, day: int, service_level: float) -> None:
        """A receipt on `day` ends the open cycle (several receipts on one day end one cycle)."""
        if self.closed_day == day:
            return
        self.closed_day = day
        self.cycles += 1
        self.stockouts += self.stocked_out
        if not self.shifted:
            base = safety_factor(service_level)
            step = RATE * (float(self.stocked_out) - (1.0 - service_level))
            self.offset = min(max(self.offset + step, -base), Z_MAX - base)
        self.stocked_out = self.shifted = False

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
        ]

    @classmethod
    def from_list(cls, data: list) -> CycleService:
        """Inverse of `to_list`."""
        return cls(*data)
