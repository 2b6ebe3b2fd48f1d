"""Promotions for overstocked SKUs: when to start, update and stop, how deep, for whom, how hard.

Start when stock covers more than `overstock_days` of demand at the list price and holding it
costs at least the least discount: the promotional price is the list price cut by what holding
the stock costs (`optimum.overstock_cut`: the share by which the profit-maximising price falls
when a unit sold now saves its carrying cost until the shelf would reach it; 5 % takes about 80
days of cover at 25 %/year), the cut at most 30 % and the price above the hard floors (it is
advertised, so MAP applies). The list price has already taken pricing's own overstock cut, so a
running promotion doubles it for its week: on the simulator that earned more, net of carrying
cost, than no promotion (docs/reports.md, *Overstock priced by its carrying cost*). Until stop 34
the cut was what would sell the stock within `overstock_days` (30 % for 150 days of cover), which
gave away more margin than it saved. Per the EU Omnibus rule the advertised discount is
measured against the lowest price (promotional ones included) of the 30 days before the
promotion began; a price not 5 % below it is no promotion. Stop when cover falls under half the
threshold, the promotion expires or it is no longer a discount; update when the right discount
moved by 5 points or more.
The bid multiplier is value-based — predicted CTR × promotional margin, relative to the average
CTR and the list margin — clipped to [0.1, 10] (−90 % … +900 %, as ad platforms allow).
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_mkt.policies.guardrails import cents_up
from realtime_mkt.policies.optimum import overstock_cut


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
    """The promotion a SKU should run now (discount 0 means none), and the price its discount is
    advertised against."""

    discount: float
    promo_price: float
    reference_price: float
    reasons: list[str]


def plan_promo(
    list_price: float,
    reference_price: float,
    stock: float,
    demand_per_day: float,
    lead_time_days: float,
    carrying_rate: float,
    hard_floor: float,
    config: PromoConfig,
) -> PromoPlan:
    """The promotion for overstock, within the policy's and the guardrails' limits.

    `stock` is on hand and on order; `demand_per_day` is the forecast at `list_price`, and the
    cut is taken from that price.
    The advertised discount is the promotional price against `reference_price` (the lowest price
    of the 30 days before the promotion); a cut that is not `min_discount` below it is no
    promotion (the list price's own markdown is the lever then)."""
    cover = stock / max(demand_per_day, 0.1)
    if cover <= config.overstock_days:
        return PromoPlan(0.0, list_price, reference_price, [])
    cut = overstock_cut(cover, lead_time_days, carrying_rate)
    if cut < config.min_discount:  # holding the stock costs less than the least discount
        return PromoPlan(0.0, list_price, reference_price, [])
    reasons = ["overstock"]
    price = list_price * (1.0 - min(cut, config.max_discount))
    if price < hard_floor:
        price = cents_up(hard_floor)
        reasons.append("clamped_by_hard_floor")
    if price > list_price * (1.0 - config.min_discount):
        return PromoPlan(
            0.0, list_price, reference_price, ["discount_below_minimum_within_guardrails"]
        )
    discount = 1.0 - price / reference_price
    if discount < config.min_discount:
        return PromoPlan(0.0, list_price, reference_price, ["no_discount_on_30d_low"])
    discount = round(discount, 4)
    price = max(round(reference_price * (1.0 - discount), 2), cents_up(hard_floor))
    return PromoPlan(discount, price, reference_price, reasons)


def bid_multiplier(
    ctr_ratio: float, promo_margin: float, list_margin: float, config: PromoConfig
) -> float:
    """Value-based bid multiplier (predicted / average CTR × promo / list margin), clipped."""
    value = ctr_ratio * (promo_margin / max(list_margin, 1e-6))
    return round(min(max(value, config.min_bid), config.max_bid), 4)
