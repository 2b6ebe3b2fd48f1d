"""A simulated market with known ground truth, for backtests and live runs.

Each SKU has a category, cost, list price, bounds, lead time, a base demand at its list price,
a constant own-price elasticity (its category's, ± 0.25), a cross elasticity to its competitor's price, weekday factors,
in the holidays scenario a yearly calendar (`HOLIDAY_WEEKS`, felt by each category as far as
`HOLIDAY_SHARE` says, and the garden's spring) and Poisson noise. Stock is real: demand beyond stock on hand is lost (and the day's sales are
censored), and restock requests arrive as receipts after the true lead time. Users have latent
tastes; impressions become clicks with a known probability (taste · item + placement/position
effects), so CTR and preference models can be judged against the truth. Competitors reprice.
A running promotion sells at its price to every shopper, and its ads reach its audience: each
user named once a day (a segment audience: `SEGMENT_REACH` users at random), in the slot its bid
multiplier wins; a click buys with probability `AD_CONVERSION` and costs the SKU's list price ×
`AD_COST_PER_CLICK` × the bid, so whom a promotion targets is worth what their tastes make it.
SKUs open with ten days of stock, or in the overstock scenario a third of them with 150 (a buying
mistake for markdowns and promotions to clear). Everything is drawn from one seed.

Common random numbers: the SKUs are drawn from the seed's own stream, and each SKU's day (its
demand, shoppers and clicks; its competitor's move) from a stream of its own, seeded by
(seed, SKU, day, what is drawn). Demand is the Poisson quantile of one uniform draw, so a
higher expected demand never sells fewer units on the same draw. Two versions of the engine run
on one seed therefore meet the same shoppers: a different decision for one SKU changes only that
SKU's later days, and only as much as the decision moves its demand. Comparisons of versions
are paired, not two independent samples of the market.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from realtime_mkt.events import format_time
from realtime_mkt.models.daily_demand import day_of
from realtime_mkt.models.yearly_season import iso_week

START = datetime(2026, 1, 5, tzinfo=UTC).timestamp()  # a Monday
DAY = 86_400.0
CATEGORIES = ("shoes", "outerwear", "kitchen", "toys", "garden")
CATEGORY_ELASTICITY = {
    "shoes": -2.0,
    "outerwear": -1.8,
    "kitchen": -2.7,
    "toys": -3.1,
    "garden": -2.3,
}
PLACEMENTS = {"ad": 0.2, "search": 0.0, "browse": -0.5, "recommendation": 0.4}
WEEKDAY = np.array([0.85, 0.9, 0.95, 1.0, 1.1, 1.3, 0.9])
# the holiday season's demand by ISO week, the same weeks every year: Black Friday's and the
# weeks before Christmas, a lull after it
HOLIDAY_WEEKS = {47: 1.6, 48: 2.5, 49: 1.5, 50: 1.8, 51: 2.2, 52: 0.8}
HOLIDAY_SHARE = {"toys": 1.0, "outerwear": 0.7, "kitchen": 0.6, "shoes": 0.5, "garden": 0.0}
GARDEN_SPRING = (range(14, 23), 1.7)  # ISO weeks and multiplier


@dataclass(frozen=True, slots=True)
class Scenario:
    """What kind of market to simulate."""

    name: str
    seasonal: bool = False
    shock_day: int | None = None  # demand of a third of the SKUs doubles from this day
    competitor_war: bool = False  # competitors undercut us after each of our price moves
    new_products_day: int | None = None  # a third of the SKUs appear only from this day
    overstock_days: float | None = None  # a third of the SKUs open with this many days of stock
    holidays: bool = False  # demand follows the yearly calendar (`HOLIDAY_WEEKS`)
    list_vs_optimum: tuple[float, float] = (0.85, 1.2)  # the merchant's list price is this far off


SCENARIOS = {
    "steady": Scenario("steady"),
    "seasonal": Scenario("seasonal", seasonal=True),
    "demand-shock": Scenario("demand-shock", seasonal=True, shock_day=45),
    "competitor-war": Scenario("competitor-war", competitor_war=True),
    "new-products": Scenario("new-products", seasonal=True, new_products_day=30),
    "overstock": Scenario("overstock", overstock_days=150),
    "mispriced": Scenario("mispriced", list_vs_optimum=(0.75, 1.4)),
    "well-priced": Scenario("well-priced", list_vs_optimum=(0.97, 1.03)),
    "holidays": Scenario("holidays", seasonal=True, holidays=True),
}


STREAM_SALES, STREAM_COMPETITOR, STREAM_ADS = 1, 2, 3  # the per-(SKU, day) streams' purposes
AD_CONVERSION = 0.3  # an ad click that becomes an order, if the SKU is in stock
AD_COST_PER_CLICK = 0.02  # share of the list price an ad click costs at a bid multiplier of 1
SEGMENT_REACH = 100  # users a segment audience's ads reach a day, drawn at random


def ad_position(bid_multiplier: float) -> int:
    """The ad slot a bid multiplier wins: 2 at 1×, one slot up per doubling, down per halving."""
    return min(8, max(1, round(2 - math.log2(bid_multiplier))))


@dataclass(frozen=True, slots=True)
class PromoAds:
    """Whom a running promotion's ads reach (user numbers; None for a segment) and its bid."""

    users: list[int] | None
    bid_multiplier: float


@dataclass(slots=True)
class AdDay:
    """A SKU's promotion ads on one day: their events and what they sold and cost."""

    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    impressions: int = 0
    clicks: int = 0
    wanted: int = 0  # orders the clicks would have placed
    sold: int = 0
    spend: float = 0.0


def poisson_quantile(u: float, mean: float) -> int:
    """The smallest k with P(Poisson(mean) ≤ k) ≥ u: a Poisson draw from one uniform, monotone
    in the mean."""
    k, term = 0, math.exp(-mean)
    total = term
    while total < u and term > 0.0:
        k += 1
        term *= mean / k
        total += term
    return k


@functools.lru_cache(maxsize=4096)
def calendar_factor(category: str, day: int) -> float:
    """The holidays scenario's demand multiplier for a category on market day `day`."""
    _, week = iso_week(day_of(START + day * DAY))
    if category == "garden":
        weeks, multiplier = GARDEN_SPRING
        return multiplier if week in weeks else 1.0
    return 1.0 + HOLIDAY_SHARE[category] * (HOLIDAY_WEEKS.get(week, 1.0) - 1.0)


def optimum_price(unit_cost: float, response: float) -> float:
    """The profit-maximising price c·r/(1+r) under a constant own-price response r < −1."""
    return unit_cost * response / (1 + response)


@dataclass(slots=True)
class SimSku:
    """A SKU's master data and true demand."""

    sku_id: str
    category: str
    unit_cost: float
    list_price: float
    min_price: float
    max_price: float
    lead_time_days: int
    order_multiple: int
    base_demand: float  # units/day at list price, competitor at list price, average weekday
    elasticity: float
    cross: float
    latent: np.ndarray
    appears: int = 0  # first day on sale

    @property
    def number(self) -> int:
        """The SKU's number in the market (sku-0007 → 7)."""
        return int(self.sku_id[-4:])

    @property
    def response(self) -> float:
        """The true response of units to our own price, competitors' prices held: our price
        enters demand as p^e · (competitor/p)^cross, so units respond with e − cross."""
        return self.elasticity - self.cross


@dataclass
class Market:
    """The world the engine acts in; `day_events` generates, `apply` feeds decisions back."""

    scenario: Scenario
    seed: int = 7
    n_skus: int = 30
    n_users: int = 400
    service_level: float = 0.95  # the cycle service level the catalog asks restocking for
    skus: list[SimSku] = field(init=False)
    price: dict[str, float] = field(init=False)
    promo_price: dict[str, float | None] = field(init=False)
    promo_ads: dict[str, PromoAds | None] = field(init=False)
    competitor: dict[str, float] = field(init=False)
    on_hand: dict[str, int] = field(init=False)
    arrivals: dict[int, list[tuple[str, int, str]]] = field(init=False)
    log: list[dict[str, Any]] = field(init=False)  # one row per SKU per day: the ground truth

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.users = [f"u{i:05d}" for i in range(self.n_users)]
        self.user_number = {user: i for i, user in enumerate(self.users)}
        self.user_latent = self.rng.normal(0, 0.7, (self.n_users, 4))
        self.skus = [self._sku(i) for i in range(self.n_skus)]
        self.price = {s.sku_id: s.list_price for s in self.skus}
        self.promo_price = {s.sku_id: None for s in self.skus}
        self.promo_ads = {s.sku_id: None for s in self.skus}
        self.competitor = {s.sku_id: s.list_price for s in self.skus}
        self.on_hand = {s.sku_id: int(s.base_demand * self._opening_days(s)) for s in self.skus}
        self.arrivals = {}
        self.log = []
        self._serial = 0

    def _sku(self, i: int) -> SimSku:
        cost = round(float(self.rng.uniform(5, 60)), 2)
        category = CATEGORIES[i % len(CATEGORIES)]
        elasticity = min(CATEGORY_ELASTICITY[category] + float(self.rng.normal(0, 0.25)), -1.4)
        list_vs_optimum = float(self.rng.uniform(*self.scenario.list_vs_optimum))
        appears = 0
        if self.scenario.new_products_day is not None and i % 3 == 2:
            appears = self.scenario.new_products_day
        lead_time_days = int(self.rng.choice([2, 3, 5, 7]))
        order_multiple = int(self.rng.choice([1, 1, 5, 10]))
        base_demand = float(self.rng.uniform(8, 40))
        cross = float(self.rng.uniform(0.2, 0.8))
        optimum = optimum_price(cost, elasticity - cross)
        list_price = round(max(optimum * list_vs_optimum, cost * 1.06), 2)  # never at a loss
        return SimSku(
            sku_id=f"sku-{i:04d}",
            category=category,
            unit_cost=cost,
            list_price=list_price,
            min_price=round(max(cost * 1.06, list_price * 0.6), 2),
            max_price=round(list_price * 1.6, 2),
            lead_time_days=lead_time_days,
            order_multiple=order_multiple,
            base_demand=base_demand,
            elasticity=elasticity,
            cross=cross,
            latent=self.rng.normal(0, 0.7, 4),
            appears=appears,
        )

    def _opening_days(self, s: SimSku) -> float:
        """Days of demand the SKU opens with: ten, or the scenario's overstock for a third."""
        if self.scenario.overstock_days is not None and s.number % 3 == 1:
            return self.scenario.overstock_days
        return 10.0

    def _stream(self, purpose: int, s: SimSku, day: int) -> np.random.Generator:
        """The random stream of one SKU's day for one purpose (common random numbers)."""
        return np.random.default_rng([self.seed, purpose, s.number, day])

    def _id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial:09d}"

    # ---- truth -------------------------------------------------------------------------

    def mean_demand(
        self, sku: SimSku, day: int, price: float, competitor: float | None = None
    ) -> float:
        """Expected units on `day` at `price` (the truth the engine never sees)."""
        competitor = self.competitor[sku.sku_id] if competitor is None else competitor
        mean = sku.base_demand * (price / sku.list_price) ** sku.elasticity
        mean *= (competitor / price) ** sku.cross
        if self.scenario.seasonal:
            mean *= WEEKDAY[day % 7]
        if self.scenario.holidays:
            mean *= calendar_factor(sku.category, day)
        if (
            self.scenario.shock_day is not None
            and day >= self.scenario.shock_day
            and sku.number % 3 == 0
        ):
            mean *= 2.0
        return mean

    def optimal_price(self, sku: SimSku) -> float:
        """The profit-maximising price within the SKU's bounds, knowing the true response
        (`SimSku.response`) and holding the competitor's price."""
        optimum = optimum_price(sku.unit_cost, sku.response)
        return min(max(optimum, sku.min_price), sku.max_price)

    def live(self, day: int) -> list[SimSku]:
        """SKUs on sale on `day`."""
        return [s for s in self.skus if s.appears <= day]

    # ---- events ------------------------------------------------------------------------

    def catalog_events(self, day: int) -> list[tuple[str, dict[str, Any]]]:
        """Catalog records and opening stock for SKUs that appear on `day`."""
        events: list[tuple[str, dict[str, Any]]] = []
        at = format_time(START + day * DAY)
        for s in self.skus:
            if s.appears != day:
                continue
            events.append(("catalog", {
                "sku_id": s.sku_id, "category": s.category, "unit_cost": s.unit_cost,
                "list_price": s.list_price, "min_price": s.min_price, "max_price": s.max_price,
                "lead_time_days": s.lead_time_days, "order_multiple": s.order_multiple,
                "service_level": self.service_level, "review_days": 1,
            }))  # fmt: skip
            events.append(("inventory", {
                "event_id": self._id("snap"), "occurred_at": at, "sku_id": s.sku_id,
                "kind": "snapshot", "quantity": self.on_hand[s.sku_id],
            }))  # fmt: skip
        return events

    def day_events(self, day: int) -> list[tuple[str, dict[str, Any]]]:
        """Receipts, competitor moves, impressions, clicks and orders of one day, in time order."""
        timed: list[tuple[float, str, dict[str, Any]]] = []
        self.received: dict[str, int] = {}
        for sku_id, quantity, decision in self.arrivals.pop(day, []):
            self.on_hand[sku_id] += quantity
            self.received[sku_id] = self.received.get(sku_id, 0) + quantity
            timed.append((START + day * DAY + 1, "inventory", {
                "event_id": f"rcv-{decision}", "occurred_at": format_time(START + day * DAY + 1),
                "sku_id": sku_id, "kind": "receipt", "quantity": quantity, "decision_id": decision,
            }))  # fmt: skip
        for s in self.live(day):
            timed.extend(self._competitor_move(s, day))
            timed.extend(self._sales(s, day))
        timed.sort(key=lambda t: t[0])
        return [(name, value) for _, name, value in timed]

    def _competitor_move(self, s: SimSku, day: int) -> list[tuple[float, str, dict[str, Any]]]:
        ours = self.price[s.sku_id]
        rng = self._stream(STREAM_COMPETITOR, s, day)
        if self.scenario.competitor_war:
            new = round(max(ours * 0.97, s.unit_cost * 1.02), 2)  # always undercut us by 3 %
        elif rng.random() < 0.15:
            new = round(s.list_price * float(rng.uniform(0.9, 1.1)), 2)
        else:
            return []
        if new == self.competitor[s.sku_id]:
            return []
        self.competitor[s.sku_id] = new
        at = START + day * DAY + 600
        return [(at, "price-changes", {
            "event_id": self._id("comp"), "occurred_at": format_time(at), "sku_id": s.sku_id,
            "kind": "competitor", "price": new, "competitor_id": "rival",
        })]  # fmt: skip

    def _sales(self, s: SimSku, day: int) -> list[tuple[float, str, dict[str, Any]]]:
        promo = self.promo_price[s.sku_id]
        price = self.price[s.sku_id] if promo is None else min(self.price[s.sku_id], promo)
        mean = self.mean_demand(s, day, price)
        rng = self._stream(STREAM_SALES, s, day)
        demand = poisson_quantile(float(rng.random()), mean)
        sold = min(demand, max(self.on_hand[s.sku_id], 0))
        self.on_hand[s.sku_id] -= sold
        ads = self._ads(s, day, price)
        optimum = self.optimal_price(s)
        clairvoyant = (optimum - s.unit_cost) * self.mean_demand(s, day, optimum)
        self.log.append({
            "day": day, "sku_id": s.sku_id, "price": price, "mean": mean,
            "demand": demand + ads.wanted, "sold": sold + ads.sold,
            "on_hand_end": self.on_hand[s.sku_id], "unit_cost": s.unit_cost,
            "competitor": self.competitor[s.sku_id],
            "optimal_price": optimum, "list_price": s.list_price,
            "profit": (sold + ads.sold) * (price - s.unit_cost) - ads.spend,
            "clairvoyant_profit": clairvoyant, "received": self.received.get(s.sku_id, 0),
            "ad_impressions": ads.impressions, "ad_clicks": ads.clicks, "ad_units": ads.sold,
            "ad_spend": ads.spend,
        })  # fmt: skip
        events = ads.events
        # shoppers come through the day; once stock runs out, the later ones find none
        times = np.sort(rng.uniform(0.05, 0.95, demand))[:sold] if sold else []
        buyers = self._buyers(s)
        for t in times:
            at = START + (day + float(t)) * DAY
            user = min(int(np.searchsorted(buyers, rng.random(), side="right")), self.n_users - 1)
            events.extend(self._impression(rng, s, user, at - 120))
            events.append(self._order(s, user, at, price))
        for _ in range(int(rng.poisson(mean * 2))):  # browsing that does not end in an order
            user = int(rng.integers(self.n_users))
            events.extend(self._impression(rng, s, user, START + (day + float(rng.random())) * DAY))
        return events

    def _ads(self, s: SimSku, day: int, price: float) -> AdDay:
        """The running promotion's ads of the day: one impression per user it reaches; clicks
        buy from what the day's shoppers left in stock."""
        ads, running = AdDay(), self.promo_ads[s.sku_id]
        if running is None:
            return ads
        rng = self._stream(STREAM_ADS, s, day)
        users = running.users
        if users is None:
            reach = min(SEGMENT_REACH, self.n_users)
            users = [int(u) for u in rng.choice(self.n_users, reach, replace=False)]
        slot = ("ad", ad_position(running.bid_multiplier))
        for user in users:
            at = START + (day + float(rng.uniform(0.05, 0.95))) * DAY
            shown = self._impression(rng, s, user, at, slot)
            ads.events.extend(shown)
            ads.impressions += 1
            if len(shown) == 1:  # not clicked
                continue
            ads.clicks += 1
            ads.spend += s.list_price * AD_COST_PER_CLICK * running.bid_multiplier
            if rng.random() >= AD_CONVERSION:
                continue
            ads.wanted += 1
            if self.on_hand[s.sku_id] <= 0:
                continue
            ads.sold += 1
            self.on_hand[s.sku_id] -= 1
            ads.events.append(self._order(s, user, at + 300, price))
        ads.spend = round(ads.spend, 2)
        return ads

    def _buyers(self, s: SimSku) -> np.ndarray:
        """Cumulative chance that a unit sold goes to each user: in proportion to e^(taste·item),
        so shoppers buy what they like (the rest of the click model is the page's, not theirs)."""
        weights = np.exp(self.user_latent @ s.latent)
        return np.cumsum(weights / weights.sum())

    def click_probability(self, s: SimSku, user: int, placement: str, position: int) -> float:
        """True CTR of an impression."""
        z = (
            -3.0
            + float(self.user_latent[user] @ s.latent)
            + PLACEMENTS[placement]
            - 0.15 * position
        )
        return 1 / (1 + math.exp(-z))

    def _impression(
        self,
        rng: np.random.Generator,
        s: SimSku,
        user: int,
        at: float,
        slot: tuple[str, int] | None = None,
    ) -> list[tuple[float, str, dict[str, Any]]]:
        """An impression of the SKU to the user, and its click if the user clicks: in `slot`
        (placement, position), or one drawn at random."""
        if slot is None:
            slot = list(PLACEMENTS)[int(rng.integers(4))], int(rng.integers(1, 9))
        placement, position = slot
        base = {"occurred_at": format_time(at), "user_id": self.users[user], "sku_id": s.sku_id,
                "placement": placement, "position": position}  # fmt: skip
        events = [(at, "clicks", {**base, "event_id": self._id("imp"), "action": "impression"})]
        if rng.random() < self.click_probability(s, user, placement, position):
            clicked = {
                **base,
                "occurred_at": format_time(at + 20),
                "event_id": self._id("clk"),
                "action": "click",
            }
            events.append((at + 20, "clicks", clicked))
        return events

    def _order(
        self, s: SimSku, user: int, at: float, price: float
    ) -> tuple[float, str, dict[str, Any]]:
        """An order of one unit of the SKU by the user, at `price`."""
        order_id = self._id("ord")
        return (at, "orders", {
            "event_id": self._id("evt"), "occurred_at": format_time(at), "order_id": order_id,
            "user_id": self.users[user], "status": "placed",
            "lines": [{"sku_id": s.sku_id, "quantity": 1, "unit_price": round(price, 2)}],
        })  # fmt: skip

    # ---- feedback ----------------------------------------------------------------------

    def _promo_ads(self, decision: dict[str, Any]) -> PromoAds:
        """Whom a promotion's ads reach: the users it names that the market has, or a segment."""
        audience = decision["audience"]
        users = None
        if "user_ids" in audience:
            named = (self.user_number.get(u) for u in audience["user_ids"])
            users = [u for u in named if u is not None]
        return PromoAds(users, decision["bid_multiplier"])

    def apply(
        self, topic: str, decision: dict[str, Any], day: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """Carry out a decision; returns the events the rest of the company would publish."""
        sku_id = decision["sku_id"]
        if topic == "restock-requests":
            sku = next(s for s in self.skus if s.sku_id == sku_id)
            self.arrivals.setdefault(day + sku.lead_time_days, []).append(
                (sku_id, decision["quantity"], decision["decision_id"])
            )
            return []
        if topic == "promo-adjustments":
            running = decision["action"] != "stop"
            self.promo_price[sku_id] = decision["promo_price"] if running else None
            self.promo_ads[sku_id] = self._promo_ads(decision) if running else None
            return []
        self.price[sku_id] = decision["new_price"]
        at = format_time(START + (day + 0.99) * DAY)
        return [("price-changes", {
            "event_id": f"list-{decision['decision_id']}", "occurred_at": at, "sku_id": sku_id,
            "kind": "list", "price": decision["new_price"],
        })]  # fmt: skip
