"""Builders of valid events shared by unit and integration tests."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from realtime_mkt.engine import Output, SkuEngine, order_lines
from realtime_mkt.events import InputEvent, decode, format_time
from realtime_mkt.schemas import load_schema
from realtime_mkt.sku_state import SkuState

DAY = 86_400.0
T0 = 1_790_000_000.0 - (1_790_000_000.0 % DAY)  # a midnight UTC in 2026


def assert_valid(schema: str, value: dict[str, Any]) -> None:
    """Validate with `jsonschema` (independent of the worker's fastjsonschema)."""
    validator = jsonschema.Draft7Validator(
        load_schema(schema), format_checker=jsonschema.FormatChecker()
    )
    validator.validate(value)


def catalog(sku: str, **overrides: Any) -> dict[str, Any]:
    value = {
        "sku_id": sku, "category": "toys", "unit_cost": 10.0, "list_price": 20.0,
        "min_price": 11.0, "max_price": 30.0, "lead_time_days": 2, "review_days": 1,
        "service_level": 0.95, "order_multiple": 1,
    }  # fmt: skip
    value.update(overrides)
    return value


def order(
    event_id: str, ts: float, lines: list[tuple[str, int]], status: str = "placed"
) -> dict[str, Any]:
    return {
        "event_id": event_id, "occurred_at": format_time(ts), "order_id": f"o-{event_id}",
        "user_id": "u1", "status": status,
        "lines": [{"sku_id": s, "quantity": q, "unit_price": 20.0} for s, q in lines],
    }  # fmt: skip


def inventory(
    event_id: str, ts: float, sku: str, kind: str, quantity: int, **extra: Any
) -> dict[str, Any]:
    return {"event_id": event_id, "occurred_at": format_time(ts), "sku_id": sku, "kind": kind,
            "quantity": quantity, **extra}  # fmt: skip


def encoded(value: dict[str, Any]) -> bytes:
    return json.dumps(value).encode()


def sku_inputs(topic: str, value: dict[str, Any]) -> list[InputEvent]:
    """The SKU-keyed events a raw input becomes (orders are split into lines, as the worker does)."""
    if topic == "orders":
        event = decode("orders", value["order_id"].encode(), encoded(value))
        return [
            decode("order-lines", line["sku_id"].encode(), encoded(line))
            for line in order_lines(event.value)
        ]
    return [decode(topic, value["sku_id"].encode(), encoded(value))]


def replay(
    engine: SkuEngine, inputs: list[tuple[str, dict[str, Any]]]
) -> tuple[dict[str, SkuState], list[Output]]:
    """Run inputs through the engine in order, state kept in its table form between events."""
    table: dict[str, dict[str, Any]] = {}
    outputs: list[Output] = []
    for topic, value in inputs:
        for event in sku_inputs(topic, value):
            sku = event.value["sku_id"]
            stored = table.get(sku)
            outcome = engine.apply(
                SkuState.from_dict(json.loads(json.dumps(stored))) if stored else None, event
            )
            table[sku] = outcome.state.to_dict()
            outputs.extend(outcome.outputs)
    return {k: SkuState.from_dict(v) for k, v in table.items()}, outputs


def demand_history(
    sku: str, days: list[int], start: float = T0, prefix: str = "d"
) -> list[tuple[str, dict[str, Any]]]:
    """One order a day at noon with the given quantities."""
    return [
        ("orders", order(f"{prefix}{i}", start + i * DAY + 43_200, [(sku, q)]))
        for i, q in enumerate(days)
    ]
