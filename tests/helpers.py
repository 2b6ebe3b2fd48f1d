"""Builders of valid events shared by unit and integration tests."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from realtime_mkt.catalogue import load_catalogue
from realtime_mkt.decisions import Output
from realtime_mkt.engine import SkuEngine, order_lines
from realtime_mkt.events import InputEvent, decode, format_time
from realtime_mkt.schemas import load_schema
from realtime_mkt.settings import PROJECT_ROOT
from realtime_mkt.sku_state import SkuState
from realtime_mkt.streaming.routing import partition_of

DAY = 86_400.0
T0 = 1_790_000_000.0 - (1_790_000_000.0 % DAY)  # a midnight UTC in 2026


def day_number(date: datetime.date) -> int:
    """The UTC day number of a date (1970-01-01 is 0)."""
    return (date - datetime.date(1970, 1, 1)).days


def iso_week_days(year: int, week: int) -> list[int]:
    """The seven UTC day numbers of an ISO week."""
    monday = day_number(datetime.date.fromisocalendar(year, week, 1))
    return [monday + k for k in range(7)]


def assert_valid(schema: str, value: dict[str, Any]) -> None:
    """Validate with `jsonschema` (independent of the worker's jsonschema-rs)."""
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


def opening(sku: str, stock: int, **catalog_overrides: Any) -> list[tuple[str, dict[str, Any]]]:
    """A SKU's catalog record and its opening stock snapshot (at T0)."""
    return [
        ("catalog", catalog(sku, **catalog_overrides)),
        ("inventory", inventory(f"open-{sku}", T0, sku, "snapshot", stock)),
    ]


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


class EngineRun:
    """Feeds inputs to one engine, keeping state in its table form between events (as the worker does)."""

    def __init__(self, engine: SkuEngine | None = None) -> None:
        self.engine = engine or SkuEngine()
        self.table: dict[str, dict[str, Any]] = {}
        self.held: list[tuple[str, str]] = []  # (sku, reason)
        # per event applied: an order line or click signal of a day its SKU had closed
        self.late: list[bool] = []

    def feed(
        self, inputs: list[tuple[str, dict[str, Any]]], closing_bound: int | None = None
    ) -> list[Output]:
        """Apply `inputs`, each read while orders of `closing_bound` and later may still come."""
        outputs: list[Output] = []
        for topic, value in inputs:
            for event in sku_inputs(topic, value):
                event = event._replace(closing_bound=closing_bound)
                sku = event.value["sku_id"]
                stored = self.table.get(sku)
                state = SkuState.from_dict(json.loads(json.dumps(stored))) if stored else None
                outcome = self.engine.apply(state, event)
                self.table[sku] = outcome.state.to_dict()
                outputs.extend(outcome.outputs)
                if outcome.held:
                    self.held.append((sku, outcome.held))
                self.late.append(outcome.late_sale or outcome.late_click)
        return outputs

    def states(self) -> dict[str, SkuState]:
        return {k: SkuState.from_dict(v) for k, v in self.table.items()}


def replay(
    engine: SkuEngine, inputs: list[tuple[str, dict[str, Any]]]
) -> tuple[dict[str, SkuState], list[Output]]:
    """Run inputs through the engine in order; return the final states and every output."""
    run = EngineRun(engine)
    outputs = run.feed(inputs)
    return run.states(), outputs


def demand_history(
    sku: str, days: list[int], start: float = T0, prefix: str = "d"
) -> list[tuple[str, dict[str, Any]]]:
    """One order a day at noon with the given quantities."""
    return [
        ("orders", order(f"{prefix}{i}", start + i * DAY + 43_200, [(sku, q)]))
        for i, q in enumerate(days)
    ]


def priced_demand(sku: str, days: range) -> list[tuple[str, dict[str, Any]]]:
    """One order a day at noon, alternately at 16 and 24 (list price 20), of 10·(price / 20)^−3
    units: a price response of −3, which the SKU's regression reads within days."""
    orders = []
    for i in days:
        price = 16.0 if i % 2 == 0 else 24.0
        value = order(
            f"pd-{sku}-{i}", T0 + i * DAY + 43_200, [(sku, round(10 * (price / 20) ** -3))]
        )
        value["lines"][0]["unit_price"] = price
        orders.append(("orders", value))
    return orders


def shared_data(*parts: str) -> Path:
    """The shared public datasets folder, or a file in it (`../shared/data` or `$REALTIME_MKT_SHARED_DATA`)."""
    candidates = (
        [Path(os.environ["REALTIME_MKT_SHARED_DATA"])]
        if "REALTIME_MKT_SHARED_DATA" in os.environ
        else []
    )
    candidates += [PROJECT_ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    for root in candidates:
        if (root / Path(*parts)).exists():
            return root / Path(*parts)
    raise FileNotFoundError(f"{'/'.join(parts)} not found under {[str(c) for c in candidates]}")


def clicks(user: str, sku: str, n: int) -> list[tuple[str, dict]]:
    """`n` impressions of `sku` to `user` on an ad, a minute apart, each one clicked."""
    events = []
    for i in range(n):
        base = {
            "occurred_at": format_time(T0 + i * 60),
            "user_id": user,
            "sku_id": sku,
            "placement": "ad",
            "position": 1,
        }
        events.append(("clicks", {**base, "event_id": f"{user}-imp-{i}", "action": "impression"}))
        events.append(("clicks", {**base, "event_id": f"{user}-clk-{i}", "action": "click"}))
    return events


def keys_on(topic: str, partition: int, n: int, prefix: str) -> list[str]:
    """`n` keys `<prefix><i>` whose records `topic` (keyed by them) puts in `partition`."""
    partitions = load_catalogue()[topic].partitions
    keys = (f"{prefix}{i}" for i in range(10_000))
    return [k for k in keys if partition_of(k, partitions) == partition][:n]


def alert_rules() -> list[dict[str, Any]]:
    """The Prometheus alerting rules of docs/alerts.yml."""
    groups = yaml.safe_load((PROJECT_ROOT / "docs" / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]
