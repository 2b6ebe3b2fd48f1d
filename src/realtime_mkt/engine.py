"""The pure engine: applies one validated event to SKU state and returns the decisions it causes.

No Kafka here. The Faust agents, the tests and (later) the backtests all drive this same code.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from realtime_mkt.events import InputEvent, format_time
from realtime_mkt.models.daily_demand import SECONDS_PER_DAY, day_of
from realtime_mkt.policies import restock
from realtime_mkt.sku_state import SkuState

DECISION_NAMESPACE = uuid.UUID("6f1d3c52-8a55-4c57-9a43-2f1f6f0e7b11")
MAX_COMPETITORS = 16


@dataclass(frozen=True, slots=True)
class Output:
    """A decision to publish: logical topic, key and JSON value."""

    topic: str
    key: str
    value: dict[str, Any]


@dataclass(slots=True)
class Outcome:
    """What applying one event did."""

    state: SkuState
    outputs: list[Output] = field(default_factory=list)
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine-wide knobs."""

    min_history_days: int = 3  # learned days before the first restock decision


def decision_id(kind: str, sku_id: str, trigger_event_id: str, *parts: object) -> str:
    """Deterministic id: the same decision replayed from the same input gets the same id."""
    name = "|".join([kind, sku_id, trigger_event_id, *map(str, parts)])
    return str(uuid.uuid5(DECISION_NAMESPACE, name))


def order_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Split an order into `order-lines` values keyed by `sku_id`, each with its own event id."""
    header = {k: order[k] for k in ("occurred_at", "order_id", "user_id", "status")}
    return [
        {"event_id": f"{order['event_id']}#{number}", **header, **line}
        for number, line in enumerate(order["lines"])
    ]


class SkuEngine:
    """Per-SKU logic: stock, demand learning and restock decisions."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()

    def apply(self, state: SkuState | None, event: InputEvent) -> Outcome:
        """Apply a validated event keyed by `sku_id` to its state (None for a new SKU)."""
        value = event.value
        state = state or SkuState(value["sku_id"])
        if event.topic == "catalog":
            self._apply_catalog(state, value)
            return Outcome(state)
        if state.recent.seen_before(value["event_id"]):
            return Outcome(state, duplicate=True)
        assert event.ts is not None
        state.watermark = event.ts if state.watermark is None else max(state.watermark, event.ts)
        state.demand.advance(day_of(state.watermark), stocked_out=state.out_of_stock)
        if event.topic == "order-lines":
            self._apply_order_line(state, value)
        elif event.topic == "inventory":
            self._apply_inventory(state, value)
        else:
            self._apply_price_change(state, value)
        if state.out_of_stock:
            state.demand.mark_stockout()
        return Outcome(state, self._restock(state, value["event_id"]))

    @staticmethod
    def _apply_catalog(state: SkuState, value: dict[str, Any]) -> None:
        state.catalog = {k: v for k, v in value.items() if k != "sku_id"}
        if state.price is None:
            state.price = value["list_price"]
        if state.unit_cost is None:
            state.unit_cost = value["unit_cost"]

    @staticmethod
    def _apply_order_line(state: SkuState, value: dict[str, Any]) -> None:
        quantity = value["quantity"]
        if value["status"] == "placed":
            state.net_stock -= quantity
            state.demand.add_units(quantity)
        elif value["status"] == "cancelled":
            state.net_stock += quantity
            state.demand.add_units(-quantity)
        else:  # returned: back on the shelf; the sale happened, so demand stays
            state.net_stock += quantity

    @staticmethod
    def _apply_inventory(state: SkuState, value: dict[str, Any]) -> None:
        quantity = value["quantity"]
        kind = value["kind"]
        state.stock_known = state.stock_known or kind != "adjustment"
        if kind == "snapshot":
            state.net_stock = quantity
        elif kind == "adjustment":
            state.net_stock += quantity
        else:
            state.net_stock += quantity
            _clear_on_order(state.outstanding, quantity, value.get("decision_id"))

    @staticmethod
    def _apply_price_change(state: SkuState, value: dict[str, Any]) -> None:
        kind = value["kind"]
        if kind == "list":
            state.price = value["price"]
        elif kind == "cost":
            state.unit_cost = value["price"]
        else:
            prices = state.competitor_prices
            prices.pop(value["competitor_id"], None)
            prices[value["competitor_id"]] = value["price"]
            while len(prices) > MAX_COMPETITORS:
                del prices[next(iter(prices))]

    def _restock(self, state: SkuState, trigger_event_id: str) -> list[Output]:
        catalog = state.catalog
        if catalog is None or state.demand.n < self.config.min_history_days:
            return []
        params = restock.RestockParams(
            lead_time_days=catalog["lead_time_days"],
            review_days=catalog.get("review_days", 1.0),
            service_level=catalog.get("service_level", 0.95),
            order_multiple=catalog.get("order_multiple", 1),
        )
        mean, std = state.demand.forecast()
        position = state.inventory_position
        plan = restock.plan(mean, std, params, position)
        if plan.quantity <= 0:
            return []
        on_hand, backorders, on_order = (
            max(state.net_stock, 0),
            max(-state.net_stock, 0),
            state.on_order,
        )
        reasons = ["inventory_position_at_or_below_reorder_point"]
        if on_hand == 0:
            reasons.append("out_of_stock")
        if backorders:
            reasons.append("backorders")
        did = decision_id("restock", state.sku_id, trigger_event_id, plan.quantity)
        state.outstanding[did] = plan.quantity
        assert state.watermark is not None
        value = {
            "decision_id": did,
            "occurred_at": format_time(state.watermark),
            "sku_id": state.sku_id,
            "quantity": plan.quantity,
            "reorder_point": round(plan.reorder_point, 4),
            "order_up_to": round(plan.order_up_to, 4),
            "inventory_position": position,
            "on_hand": on_hand,
            "on_order": on_order,
            "backorders": backorders,
            "forecast": {
                "mean_per_day": round(mean, 4),
                "std_per_day": round(std, 4),
                "history_days": state.demand.n,
            },
            "lead_time_days": params.lead_time_days,
            "review_days": params.review_days,
            "service_level": params.service_level,
            "safety_stock": round(plan.safety_stock, 4),
            "order_multiple": params.order_multiple,
            "need_by": format_time(state.watermark + params.lead_time_days * SECONDS_PER_DAY),
            "policy": restock.POLICY_NAME,
            "trigger_event_id": trigger_event_id,
            "reason_codes": reasons,
        }
        return [Output("restock-requests", state.sku_id, value)]


def _clear_on_order(outstanding: dict[str, int], quantity: int, decision: str | None) -> None:
    """A receipt settles the request it names, else the oldest outstanding ones."""
    if decision in outstanding:
        left = outstanding[decision] - quantity
        if left > 0:
            outstanding[decision] = left
        else:
            del outstanding[decision]
        return
    for did in list(outstanding):
        if quantity <= 0:
            break
        taken = min(quantity, outstanding[did])
        quantity -= taken
        if taken == outstanding[did]:
            del outstanding[did]
        else:
            outstanding[did] -= taken
