"""Turning policy results into the output events of the contract (`schemas/*.json`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from realtime_mkt.events import format_time
from realtime_mkt.models.daily_demand import SECONDS_PER_DAY
from realtime_mkt.policies import pricing, promo, restock
from realtime_mkt.policies.guardrails import GuardedPrice
from realtime_mkt.policies.list_price_error import Anchor
from realtime_mkt.sku_state import SkuState

DECISION_NAMESPACE = uuid.UUID("6f1d3c52-8a55-4c57-9a43-2f1f6f0e7b11")
RESTOCK, PRICE, PROMO = "restock-requests", "price-adjustments", "promo-adjustments"
DECISION_TOPICS = (RESTOCK, PRICE, PROMO)  # the topics decisions go to
# a restock request names the yearly season once it moves the forecast this much either way
YEARLY_SEASON_REASON = 0.05


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a promotion targets: users ranked by predicted preference, and their predicted CTR."""

    user_ids: list[str]
    predicted_ctr: float | None
    base_ctr: float | None  # the average CTR the prediction is compared with


@dataclass(frozen=True, slots=True)
class Output:
    """A decision to publish: logical topic, key and JSON value."""

    topic: str
    key: str
    value: dict[str, Any]


def decision_id(kind: str, sku_id: str, trigger_event_id: str, *parts: object) -> str:
    """Deterministic id: the same decision replayed from the same input gets the same id."""
    name = "|".join([kind, sku_id, trigger_event_id, *map(str, parts)])
    return str(uuid.uuid5(DECISION_NAMESPACE, name))


def restock_request(
    state: SkuState,
    params: restock.RestockParams,
    plan: restock.RestockPlan,
    forecast: tuple[float, float],
    position: int,
    trigger: str,
    lead_time_correction: float,
) -> Output:
    """A `restock-requests` event for a plan with a positive quantity and its forecast;
    `lead_time_correction` is the part of the safety factor pooled over the lead time's SKUs."""
    assert state.watermark is not None
    mean, std = forecast
    assert state.demand.day is not None
    days = restock.protection_days(params.lead_time_days, params.review_days)
    yearly = state.demand.yearly_mean(state.demand.day + 1, days)
    on_hand, backorders = max(state.net_stock, 0), max(-state.net_stock, 0)
    reasons = ["inventory_position_at_or_below_reorder_point"]
    if on_hand == 0:
        reasons.append("out_of_stock")
    if backorders:
        reasons.append("backorders")
    if abs(yearly - 1.0) >= YEARLY_SEASON_REASON:
        reasons.append("yearly_season")
    value = {
        "decision_id": decision_id("restock", state.sku_id, trigger, plan.quantity),
        "occurred_at": format_time(state.watermark),
        "sku_id": state.sku_id,
        "quantity": plan.quantity,
        "reorder_point": round(plan.reorder_point, 4),
        "order_up_to": round(plan.order_up_to, 4),
        "inventory_position": position,
        "on_hand": on_hand,
        "on_order": state.on_order,
        "backorders": backorders,
        "forecast": {
            "mean_per_day": round(mean, 4),
            "std_per_day": round(std, 4),
            "history_days": state.demand.n,
            "yearly_factor": round(yearly, 4),
        },
        "lead_time_days": params.lead_time_days,
        "review_days": params.review_days,
        "service_level": params.service_level,
        "safety_stock": round(plan.safety_stock, 4),
        "cycle_service": {
            "safety_factor": round(plan.safety_factor, 4),
            **state.cycles.counts(),
            "lead_time_correction": round(lead_time_correction, 4),
        },
        "order_multiple": params.order_multiple,
        "need_by": format_time(state.watermark + params.lead_time_days * SECONDS_PER_DAY),
        "policy": restock.POLICY_NAME,
        "trigger_event_id": trigger,
        "reason_codes": reasons,
    }
    return Output(RESTOCK, state.sku_id, value)


def price_adjustment(
    state: SkuState,
    current: float,
    target: pricing.PriceTarget,
    guarded: GuardedPrice,
    response: tuple[float, float, float],
    trigger: str,
) -> Output:
    """A `price-adjustments` event; `response` is the own-price response the target used, its
    standard error and the cross elasticity."""
    assert state.watermark is not None
    elasticity, stderr, cross = response
    reasons = list(target.reasons)
    if guarded.binding_rule:
        reasons.append(f"clamped_by_{guarded.binding_rule}")
    value = {
        "decision_id": decision_id("price", state.sku_id, trigger, guarded.price),
        "occurred_at": format_time(state.watermark),
        "sku_id": state.sku_id,
        "current_price": current,
        "new_price": guarded.price,
        "target_price": positive_price(target.price),
        "optimum_price": None if target.optimum is None else positive_price(target.optimum),
        "optimum_weight": round(target.weight, 4),
        "list_price_error": round(target.anchor.list_price_error, 4),
        "anchor": anchor_fields(target.anchor),
        "reason_codes": reasons,
        "binding_rule": guarded.binding_rule,
        "clamp_trail": guarded.clamp_trail,
        "elasticity": {
            "estimate": round(elasticity, 4),
            "stderr": round(stderr, 4),
            "cross": round(cross, 4),
            "observations": state.elasticity.n,
        },
        "exploration": target.exploration,
        "model_version": pricing.MODEL_VERSION,
        "unit_cost": state.unit_cost,
        "competitor_min_price": state.competitor_min,
        "on_hand": max(state.net_stock, 0),
        "trigger_event_id": trigger,
    }
    return Output(PRICE, state.sku_id, value)


def anchor_fields(anchor: Anchor) -> dict[str, float]:
    """Where the target started from, as price adjustments and the `/sku` view show it."""
    return {
        "price": positive_price(anchor.price),
        "error": round(anchor.error, 4),
        "list_share": round(anchor.list_share, 4),
    }


def positive_price(price: float) -> float:
    """A positive price to 4 decimals, or to 4 significant digits where 4 decimals would make it
    0 (a target cut to e^-10 of a cent-priced SKU's price)."""
    return round(price, 4) or float(f"{price:.4g}")


def promo_adjustment(
    state: SkuState,
    action: str,
    plan: promo.PromoPlan,
    audience: Audience,
    bid: float,
    valid_until_day: int,
    category: str,
    trigger: str,
) -> Output:
    """A `promo-adjustments` event."""
    assert state.watermark is not None
    users, predicted_ctr = audience.user_ids, audience.predicted_ctr
    reasons = list(plan.reasons)
    if users:
        target = {"user_ids": users, "size": len(users)}
    else:
        target = {"segment": f"category:{category}", "size": 0}
        if action != "stop":  # a stop has no audience to find
            reasons.append("audience_model_cold")
    value = {
        "decision_id": decision_id("promo", state.sku_id, trigger, action, plan.discount),
        "occurred_at": format_time(state.watermark),
        "sku_id": state.sku_id,
        "action": action,
        "discount_pct": round(plan.discount * 100, 2),
        "promo_price": plan.promo_price,
        "reference_price_30d_min": plan.reference_price,
        "audience": target,
        "bid_multiplier": bid,
        "predicted_ctr": None if predicted_ctr is None else round(predicted_ctr, 6),
        "reason_codes": reasons,
        "valid_until": format_time(valid_until_day * SECONDS_PER_DAY),
        "trigger_event_id": trigger,
    }
    return Output(PROMO, state.sku_id, value)
