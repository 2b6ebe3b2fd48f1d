"""Compact per-SKU state kept in the `sku-state` table (one small JSON document per SKU)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from realtime_mkt.models.click_signal import ClickSignal
from realtime_mkt.models.daily_demand import DailyDemand
from realtime_mkt.models.elasticity import LogLogElasticity
from realtime_mkt.policies.cycle_service import CycleService
from realtime_mkt.positions import ReadPositions

RECENT_IDS = 64  # duplicate-detection window: the last N event ids seen for this key


FINGERPRINT_BYTES = 7
FINGERPRINT_CHARS = 2 * FINGERPRINT_BYTES  # in hex


def event_fingerprint(event_id: str) -> str:
    """A 56-bit hash of an event id in hex: compact to store, collisions negligible in a small
    window."""
    return hashlib.blake2b(event_id.encode(), digest_size=FINGERPRINT_BYTES).hexdigest()


def fixed_draw(text: str) -> float:
    """A number in [0, 1) fixed by `text` (its fingerprint's share of the range): the same on
    every replay, unlike `random`."""
    return int(event_fingerprint(text), 16) / 2 ** (8 * FINGERPRINT_BYTES)


@dataclass(slots=True)
class RecentIds:
    """Bounded window of the most recent event-id fingerprints for one key, oldest first, as
    one string of fixed-width hex fingerprints: a state stores and loads it as one JSON string
    (a list of 64 integers made a user's state cost about twice as much to load and store, on
    nearly every click)."""

    ids: str = ""

    @classmethod
    def from_stored(cls, ids: str | list[int]) -> RecentIds:
        """The window as a state stores it; a list of integers is how states stored it before
        (this version reads them, and writes them back as a string)."""
        if isinstance(ids, str):
            return cls(ids)
        return cls("".join(f"{fp:0{FINGERPRINT_CHARS}x}" for fp in ids))

    def seen_before(self, event_id: str) -> bool:
        """True if `event_id` is in the window; otherwise remember it and return False."""
        fp = event_fingerprint(event_id)
        at = self.ids.find(fp)
        while at > 0 and at % FINGERPRINT_CHARS:  # a match across two fingerprints is none
            at = self.ids.find(fp, at + 1)
        if at >= 0:
            return True
        self.ids = (self.ids + fp)[-RECENT_IDS * FINGERPRINT_CHARS :]
        return False


@dataclass(slots=True)
class SkuState:
    """Everything the engine knows about one SKU."""

    sku_id: str
    catalog: dict[str, Any] | None = None
    net_stock: int = 0  # on-hand minus backorders
    stock_known: bool = False  # a snapshot or receipt has been seen
    outstanding: dict[str, int] = field(default_factory=dict)  # restock decision_id -> units due
    demand: DailyDemand = field(default_factory=DailyDemand)
    clicks: ClickSignal = field(default_factory=ClickSignal)
    watermark: float | None = None  # newest event time seen (epoch seconds)
    price: float | None = None
    unit_cost: float | None = None
    competitor_prices: dict[str, float] = field(default_factory=dict)
    recent: RecentIds = field(default_factory=RecentIds)
    positions: ReadPositions = field(default_factory=ReadPositions)
    elasticity: LogLogElasticity = field(default_factory=LogLogElasticity)
    price_changes: list[float] = field(default_factory=list)  # event times of our adjustments
    daily_min_price: list[list[float]] = field(default_factory=list)  # [day, lowest price], 30 days
    promo: dict[str, Any] | None = None  # the running promotion: discount, until, price, reference
    cycles: CycleService = field(default_factory=CycleService)  # restock's realised service
    list_price_distance: float | None = None  # its d² in the pooled list-price error
    # its part in the blend of list price and category markups (`ListPriceError.update_blend`)
    list_price_blend: list[float] | None = None
    category_response: float | None = None  # its response in its category's pool
    markup: float | None = None  # its ln(list price / cost) in its category's markups

    @property
    def out_of_stock(self) -> bool:
        """Known to have nothing on hand (unknown stock never counts as a stock-out)."""
        return self.stock_known and self.net_stock <= 0

    @property
    def selling_price(self) -> float | None:
        """What a shopper pays now: the list price, or the running promotion's price if lower."""
        if self.promo is None or self.price is None:
            return self.price
        return min(self.price, self.promo["price"])

    @property
    def reference_price_30d_min(self) -> float | None:
        """The lowest selling price of the last 30 days (EU Omnibus reference for promotions)."""
        return min(p for _, p in self.daily_min_price) if self.daily_min_price else self.price

    @property
    def competitor_min(self) -> float | None:
        """The lowest current competitor price, if any."""
        return min(self.competitor_prices.values()) if self.competitor_prices else None

    def record_price(self, day: int, price: float) -> None:
        """Keep the lowest price of each of the last 30 days (for the 30-day reference price)."""
        if self.daily_min_price and self.daily_min_price[-1][0] == day:
            self.daily_min_price[-1][1] = min(self.daily_min_price[-1][1], price)
        else:
            self.daily_min_price.append([day, price])
        while self.daily_min_price and self.daily_min_price[0][0] <= day - 30:
            del self.daily_min_price[0]

    @property
    def on_order(self) -> int:
        """Units requested and not yet received."""
        return sum(self.outstanding.values())

    @property
    def inventory_position(self) -> int:
        """On-hand + on-order − backorders."""
        return self.net_stock + self.on_order

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the table."""
        return {
            "sku": self.sku_id,
            "cat": self.catalog,
            "net": self.net_stock,
            "known": self.stock_known,
            "out": self.outstanding,
            "dem": self.demand.to_list(),
            "clk": self.clicks.to_list(),
            "wm": self.watermark,
            "px": self.price,
            "cost": self.unit_cost,
            "comp": self.competitor_prices,
            "ids": self.recent.ids,
            "pos": self.positions.to_list(),
            "el": self.elasticity.to_list(),
            "pchg": self.price_changes,
            "pmin": self.daily_min_price,
            "promo": self.promo,
            "cyc": self.cycles.to_list(),
            "lpd": self.list_price_distance,
            "lpb": self.list_price_blend,
            "crp": self.category_response,
            "mku": self.markup,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SkuState:
        """Inverse of `to_dict`."""
        state = cls(
            sku_id=data["sku"],
            catalog=data["cat"],
            net_stock=data["net"],
            stock_known=data["known"],
            outstanding=data["out"],
            demand=DailyDemand.from_list(data["dem"]),
            clicks=ClickSignal.from_list(data["clk"]),
            watermark=data["wm"],
            price=data["px"],
            unit_cost=data["cost"],
            competitor_prices=data["comp"],
            recent=RecentIds.from_stored(data["ids"]),
            positions=ReadPositions.from_list(data.get("pos")),
            elasticity=LogLogElasticity.from_list(data["el"]),
            price_changes=data["pchg"],
            daily_min_price=data["pmin"],
            promo=data["promo"],
            # states written before the cycle feedback start it afresh
            cycles=CycleService.from_list(data["cyc"]) if "cyc" in data else CycleService(),
            # states written before stop 32 have no part in the pool yet
            list_price_distance=data.get("lpd"),
            # states written before stop 42 join the blend on their next learned day
            list_price_blend=data.get("lpb"),
            # states written before stop 41 join their category's pool on their next day
            category_response=data.get("crp"),
            # states written before stop 42 join their category's markups on their next day
            markup=data.get("mku"),
        )
        if state.promo is not None and "reference" not in state.promo:
            state.promo = _promo_before_stop_29(state)
        return state


def _promo_before_stop_29(state: SkuState) -> dict[str, Any]:
    """A running promotion stored before stop 29, which kept only its discount and end, with the
    reference and price the rule then used: the 30-day low, and that low cut by the discount."""
    reference = state.reference_price_30d_min
    assert state.promo is not None and reference is not None  # a promotion starts from a price
    price = round(reference * (1.0 - state.promo["discount"]), 2)
    return {**state.promo, "reference": reference, "price": price}
