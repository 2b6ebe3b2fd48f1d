"""Promotions for overstocked SKUs: when to start, update and stop, how deep, for whom, how hard.

Start when stock covers more than `overstock_days` of demand; the discount is the one that would
sell the stock within that time at the estimated elasticity, clipped to [5 %, 30 %] and to the
hard floors (the promotional price is advertised, so MAP applies). Per the EU Omnibus rule the
discount is taken from the lowest price of the last 30 days. Stop when cover falls under half the
threshold or the promotion expires; update when the right discount moved by 5 points or more.
The bid multiplier is value-based — predicted CTR × promotional margin, relative to the average
CTR and the list margin — clipped to [0.1, 10] (−90 % … +900 %, as ad platforms allow).
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_mkt.policies.guardrails import cents_up


@dataclass(frozen=True, slots=True)
class PromoConfig:
    """Knobs of the promotion policy."""

    overstock_days: float = 60.0
    min_discount: float = 0.05
    max_discount: float = 0.30
    update_step: float = 0.05
    duration_days: int = 7
    audience_size: int = 100
    min_bid: float = 0.1
    max_bid: float = 10.0


@dataclass(frozen=True, slots=True)
class PromoPlan:
    """The promotion a SKU should run now (discount 0 means none)."""

    discount: float
    promo_price: float
    reasons: list[str]


def plan_promo(
    reference_price: float,
    on_hand: float,
    demand_per_day: float,
    elasticity: float,
    hard_floor: float,
    config: PromoConfig,
) -> PromoPlan:
    """The discount that clears overstock, within the policy's and the guardrails' limits."""
    cover = on_hand / max(demand_per_day, 0.1)
    if cover <= config.overstock_days:
        return PromoPlan(0.0, reference_price, [])
    if elasticity < -0.5:
        clearing = (on_hand / (max(demand_per_day, 0.1) * config.overstock_days)) ** (
            1.0 / elasticity
        )
        discount = 1.0 - clearing
    else:
        discount = config.max_discount
    reasons = ["overstock"]
    discount = min(max(discount, config.min_discount), config.max_discount)
    floor_discount = 1.0 - hard_floor / reference_price
    if discount > floor_discount:
        discount = floor_discount
        reasons.append("clamped_by_hard_floor")
    if discount < config.min_discount:
        return PromoPlan(0.0, reference_price, ["discount_below_minimum_within_guardrails"])
    discount = round(discount, 4)
    price = max(round(reference_price * (1.0 - discount), 2), cents_up(hard_floor))
    return PromoPlan(discount, price, reasons)


def bid_multiplier(
    ctr_ratio: float, promo_margin: float, list_margin: float, config: PromoConfig
) -> float:
    """Value-based bid multiplier (predicted / average CTR × promo / list margin), clipped."""
    value = ctr_ratio * (promo_margin / max(list_margin, 1e-6))
    return round(min(max(value, config.min_bid), config.max_bid), 4)
