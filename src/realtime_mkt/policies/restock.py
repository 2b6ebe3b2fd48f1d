"""Continuous-review (s, S) replenishment with safety stock z·σ·√L over the lead time L.

With lead time L and review period R (days), daily demand mean μ and spread σ and cycle service
level α (z = Φ⁻¹(α)):

    safety stock     SS = z·σ·√L, z = Φ⁻¹(α) + the SKU's correction (`cycle_service`)
    order-up-to      S  = μ·(L+R) + SS
    reorder point    s  = S − μ·R = μ·L + SS

The worker checks on every event, so an order is placed as soon as the inventory position
IP = on-hand + on-order − backorders falls to s or below, for S − IP rounded up to the order
multiple. Placing it raises IP back to S, so the same need never triggers a second request.
Review is continuous, so what can run out is the reorder point's stock over the lead time L,
until the order arrives: R sets how much each order brings (μ·R), not the risk. (A periodic
review, which sees the stock only every R days, would need z·σ·√(L+R).)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from statistics import NormalDist

POLICY_NAME = "order-up-to/v1"


@dataclass(frozen=True, slots=True)
class RestockParams:
    """Per-SKU replenishment parameters, from the catalog."""

    lead_time_days: float
    review_days: float = 1.0
    service_level: float = 0.95
    order_multiple: int = 1
    z_offset: float = 0.0  # the SKU's correction from its realised cycles (`cycle_service`)


@dataclass(frozen=True, slots=True)
class RestockPlan:
    """Levels for one SKU and the quantity to order now (0 when no order is due)."""

    reorder_point: float
    order_up_to: float
    safety_stock: float
    safety_factor: float  # the z planned with
    quantity: int


def critical_ratio(shortage_cost: float, holding_cost: float) -> float:
    """Newsvendor service level p / (p + h) that minimises expected holding plus shortage cost."""
    return shortage_cost / (shortage_cost + holding_cost)


@functools.lru_cache(maxsize=256)
def safety_factor(service_level: float) -> float:
    """z such that P(N(0,1) ≤ z) equals the cycle service level (remembered: a few levels
    are asked for on every SKU event)."""
    return NormalDist().inv_cdf(service_level)


def planned_safety_factor(params: RestockParams) -> float:
    """The z a plan uses: the target's, plus the SKU's correction, never below 0."""
    return max(0.0, safety_factor(params.service_level) + params.z_offset)


def protection_days(lead_time_days: float, review_days: float) -> int:
    """The days a plan's forecast covers: the lead time and the review period, rounded up."""
    return math.ceil(lead_time_days + review_days)


def plan(mean: float, std: float, params: RestockParams, inventory_position: float) -> RestockPlan:
    """Reorder point, order-up-to level and the order quantity for the current position."""
    z = planned_safety_factor(params)
    safety_stock = z * std * math.sqrt(params.lead_time_days)
    order_up_to = mean * (params.lead_time_days + params.review_days) + safety_stock
    reorder_point = order_up_to - mean * params.review_days
    quantity = 0
    if order_up_to > 0 and inventory_position <= reorder_point:
        multiple = params.order_multiple
        quantity = math.ceil((order_up_to - inventory_position) / multiple - 1e-9) * multiple
    return RestockPlan(reorder_point, order_up_to, safety_stock, z, max(quantity, 0))
