"""A small generated market: catalog, opening stock, then day by day clicks, orders and prices.

Deterministic for a seed. Each SKU has a true demand at its list price and a true constant
elasticity; orders arrive as a Poisson process around the demand at the SKU's current price,
impressions and clicks precede them, competitors occasionally reprice. The pricing engine's side
is played by `apply_price` (a price adjustment becomes a `list` price change) and procurement's
by `receipt_for` (a restock request's goods arrive after the lead time). One SKU in five starts
heavily overstocked, so promotions have something to do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from realtime_mkt.events import format_time

START = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
DAY = 86_400.0
CATEGORIES = ("shoes", "outerwear", "kitchen", "toys", "garden")


@dataclass(frozen=True, slots=True)
class Event:
    """One input record: logical topic, key and value."""

    topic: str
    key: str
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Sku:
    """A SKU's master data and its true demand."""

    sku_id: str
    category: str
    unit_cost: float
    list_price: float
    lead_time_days: int
    order_multiple: int
    mean_daily_demand: float  # at the list price
    elasticity: float


class DemoMarket:
    """Generates a market's event stream in event-time order."""

    def __init__(self, seed: int = 7, n_skus: int = 20, n_users: int = 200) -> None:
        self.rng = random.Random(seed)
        self.users = [f"u{i:05d}" for i in range(n_users)]
        self.skus = [self._sku(i) for i in range(n_skus)]
        self.prices = {s.sku_id: s.list_price for s in self.skus}
        self._serial = 0

    def _sku(self, i: int) -> Sku:
        cost = round(self.rng.uniform(4, 60), 2)
        return Sku(
            sku_id=f"sku-{i:04d}",
            category=CATEGORIES[i % len(CATEGORIES)],
            unit_cost=cost,
            list_price=round(cost * self.rng.uniform(1.4, 2.2), 2),
            lead_time_days=self.rng.choice((2, 3, 5, 7)),
            order_multiple=self.rng.choice((1, 1, 6, 12)),
            mean_daily_demand=round(self.rng.uniform(3, 30), 1),
            elasticity=round(self.rng.uniform(-3.5, -1.5), 2),
        )

    def _id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial:08d}"

    def catalog(self) -> Iterator[Event]:
        """One catalog record per SKU."""
        for s in self.skus:
            yield Event("catalog", s.sku_id, {
                "sku_id": s.sku_id, "category": s.category, "unit_cost": s.unit_cost,
                "list_price": s.list_price, "min_price": round(s.unit_cost * 1.05, 2),
                "max_price": round(s.list_price * 1.5, 2), "lead_time_days": s.lead_time_days,
                "order_multiple": s.order_multiple, "service_level": 0.95, "review_days": 1,
            })  # fmt: skip

    def opening_stock(self, day: int = 0) -> Iterator[Event]:
        """A stock snapshot per SKU: two weeks of demand, five months for every fifth SKU."""
        at = format_time(START + day * DAY)
        for i, s in enumerate(self.skus):
            quantity = int(s.mean_daily_demand * (150 if i % 5 == 4 else 14))
            yield Event("inventory", s.sku_id, {
                "event_id": self._id("inv"), "occurred_at": at, "sku_id": s.sku_id,
                "kind": "snapshot", "quantity": quantity,
            })  # fmt: skip

    def day(self, day: int) -> Iterator[Event]:
        """All clicks, orders and price changes of one simulated day, in time order."""
        events: list[tuple[float, Event]] = []
        for s in self.skus:
            mean = s.mean_daily_demand * (self.prices[s.sku_id] / s.list_price) ** s.elasticity
            for _ in range(_poisson(self.rng, mean)):
                at = START + (day + self.rng.random()) * DAY
                user = self.rng.choice(self.users)
                events.append((at - 60, self._click(s, user, at - 60, "impression")))
                events.append((at - 30, self._click(s, user, at - 30, "click")))
                events.append((at, self._order(s, user, at)))
            if self.rng.random() < 0.1:
                at = START + (day + self.rng.random()) * DAY
                price = round(s.list_price * self.rng.uniform(0.85, 1.1), 2)
                events.append((at, Event("price-changes", s.sku_id, {
                    "event_id": self._id("px"), "occurred_at": format_time(at), "sku_id": s.sku_id,
                    "kind": "competitor", "price": price, "competitor_id": "rival-1",
                })))  # fmt: skip
        events.sort(key=lambda pair: pair[0])
        for _, event in events:
            yield event

    def _click(self, s: Sku, user: str, at: float, action: str) -> Event:
        return Event("clicks", user, {
            "event_id": self._id("clk"), "occurred_at": format_time(at), "user_id": user,
            "sku_id": s.sku_id, "action": action, "placement": "search",
            "position": self.rng.randint(1, 10), "price_shown": s.list_price,
        })  # fmt: skip

    def _order(self, s: Sku, user: str, at: float) -> Event:
        order_id = self._id("ord")
        return Event("orders", order_id, {
            "event_id": self._id("evt"), "occurred_at": format_time(at), "order_id": order_id,
            "user_id": user, "status": "placed",
            "lines": [{"sku_id": s.sku_id, "quantity": 1 + _poisson(self.rng, 0.3), "unit_price": self.prices[s.sku_id]}],
        })  # fmt: skip

    def apply_price(self, adjustment: dict[str, Any], day: int) -> Event:
        """The pricing engine applies a price adjustment and announces the new list price."""
        self.prices[adjustment["sku_id"]] = adjustment["new_price"]
        return Event("price-changes", adjustment["sku_id"], {
            "event_id": f"list-{adjustment['decision_id']}", "occurred_at": format_time(START + (day + 0.5) * DAY),
            "sku_id": adjustment["sku_id"], "kind": "list", "price": adjustment["new_price"],
        })  # fmt: skip

    def receipt_for(self, request: dict[str, Any], day: int) -> Event:
        """The goods for a restock request, arriving on `day`."""
        return Event("inventory", request["sku_id"], {
            "event_id": f"rcv-{request['decision_id']}", "occurred_at": format_time(START + day * DAY),
            "sku_id": request["sku_id"], "kind": "receipt", "quantity": request["quantity"],
            "decision_id": request["decision_id"],
        })  # fmt: skip

    def lead_time(self, sku_id: str) -> int:
        """True lead time of a SKU in days."""
        return next(s.lead_time_days for s in self.skus if s.sku_id == sku_id)


def malformed_examples() -> list[tuple[str, bytes | None, bytes]]:
    """Records a careless producer might send: (logical topic, key, raw value)."""
    return [
        ("orders", b"o-bad-1", b'{"event_id": "bad-1", "order_id": "o-bad-1"'),
        (
            "orders",
            b"o-bad-2",
            b'{"event_id":"bad-2","occurred_at":"2026-11-02T10:00:00Z","order_id":"o-bad-2",'
            b'"user_id":"u1","status":"placed","lines":[{"sku_id":"sku-0001","quantity":0,"unit_price":9.5}]}',
        ),
        (
            "price-changes",
            b"sku-0002",
            b'{"event_id":"bad-3","occurred_at":"2026-11-02T10:00:00Z",'
            b'"sku_id":"sku-0002","kind":"competitor","price":12.0}',
        ),
        (
            "clicks",
            b"u1",
            b'{"event_id":"bad-4","occurred_at":"yesterday","user_id":"u1","sku_id":"sku-0001",'
            b'"action":"click","placement":"search"}',
        ),
        ("inventory", b"sku-0003", b"\xff\xfe not even text"),
    ]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's Poisson sampler for small means, normal approximation above 30."""
    if mean > 30:
        return max(0, round(rng.gauss(mean, mean**0.5)))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
