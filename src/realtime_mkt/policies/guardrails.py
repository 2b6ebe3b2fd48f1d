"""The last layer of every price decision: bounds applied in a fixed order, each clamp recorded.

Order: max step per change (relative to the current price), then the ceiling, then the hard
floors — catalog floor, margin floor on the latest cost, MAP — applied last so that they always
hold. The rule that moved the price last is the `binding_rule`; every move is in the `clamp_trail`.
When the floors exceed the ceiling the floors win (never sell below cost plus margin) and the
trail says so. Cooldown and circuit breakers do not clamp, they hold: see `hold_reason`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GuardrailConfig:
    """Limits shared by every SKU (documented defaults)."""

    max_step: float = 0.08  # at most ±8 % per change
    min_margin: float = 0.05  # price ≥ cost × 1.05
    max_changes: int = 1  # per cooldown window
    cooldown_hours: float = 20.0
    breaker_share: float = 0.5  # hold when more than this share of SKUs moved within the window
    breaker_min_skus: int = 20  # ... and at least this many SKUs are known
    breaker_window_hours: float = 1.0
    absurd_competitor_ratio: float = 3.0  # competitor below our cost / 3 or above ceiling × 3


@dataclass(frozen=True, slots=True)
class PriceBounds:
    """A SKU's bounds from its catalog record and latest cost."""

    floor: float
    ceiling: float
    unit_cost: float
    map_price: float | None = None


@dataclass(frozen=True, slots=True)
class GuardedPrice:
    """The price after the guardrails, and how they changed it."""

    price: float
    binding_rule: str | None
    clamp_trail: list[dict]


def guard_price(
    current: float, proposed: float, bounds: PriceBounds, config: GuardrailConfig
) -> GuardedPrice:
    """Clamp a proposed price; the result always satisfies the hard floors."""
    trail: list[dict] = []
    price = proposed

    def clamp(rule: str, value: float) -> None:
        nonlocal price
        if abs(value - price) > 1e-12:
            trail.append({"rule": rule, "from": round(price, 4), "to": round(value, 4)})
            price = value

    low, high = current * (1 - config.max_step), current * (1 + config.max_step)
    clamp("max_step", min(max(price, low), high))
    price = round_price(price)  # cents; the bounds below are rounded inward so they hold exactly
    clamp("ceiling", min(price, math.floor(bounds.ceiling * 100 + 1e-6) / 100))
    clamp("floor", max(price, cents_up(bounds.floor)))
    clamp("margin_floor", max(price, cents_up(bounds.unit_cost * (1 + config.min_margin))))
    if bounds.map_price is not None:
        clamp("map", max(price, cents_up(bounds.map_price)))
    return GuardedPrice(price, trail[-1]["rule"] if trail else None, trail)


def hard_floor(bounds: PriceBounds, config: GuardrailConfig) -> float:
    """The lowest price any decision may set."""
    return max(bounds.floor, bounds.unit_cost * (1 + config.min_margin), bounds.map_price or 0.0)


def cents_up(price: float) -> float:
    """The smallest whole-cent price not below `price`."""
    return math.ceil(price * 100 - 1e-6) / 100


def round_price(price: float) -> float:
    """Prices are quoted in cents."""
    return round(price, 2)


def competitor_is_absurd(price: float, bounds: PriceBounds, config: GuardrailConfig) -> bool:
    """A competitor price far outside any plausible range (a repricer bug, a 1p listing)."""
    ratio = config.absurd_competitor_ratio
    return price < bounds.unit_cost / ratio or price > bounds.ceiling * ratio
