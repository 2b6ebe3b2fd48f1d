"""The pure engine: applies one validated event to SKU state and returns the decisions it causes.

No Kafka here. The Faust agents, the tests and the backtests all drive this same code.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_mkt.decision_log import DecisionLog
from realtime_mkt.decisions import (
    Audience,
    Output,
    price_adjustment,
    promo_adjustment,
    restock_request,
)
from realtime_mkt.events import InputEvent, format_time
from realtime_mkt.key_value import KeyValueStore
from realtime_mkt.models.category_response import CategoryResponses, part_of
from realtime_mkt.models.daily_demand import MAX_GAP_DAYS, SECONDS_PER_DAY, ClosedDay, day_of
from realtime_mkt.models.elasticity import CategoryPriors
from realtime_mkt.models.intraday_profile import IntradayProfile
from realtime_mkt.models.yearly_season import CategorySeasons
from realtime_mkt.policies import cycle_service, pricing, promo, restock
from realtime_mkt.policies.category_markup import CategoryMarkups, markup_of
from realtime_mkt.policies.cycle_service import CyclePool
from realtime_mkt.policies.guardrails import (
    GuardrailConfig,
    PriceBounds,
    competitor_is_absurd,
    guard_price,
    hard_floor,
)
from realtime_mkt.policies.list_price_error import (
    Anchor,
    ListPriceError,
    blend_part,
    squared_distance,
)
from realtime_mkt.sku_state import SkuState

MAX_COMPETITORS = 16


# why a price decision was held (`Outcome.held`), and how a replenishment cycle ended
HELD_COOLDOWN = "cooldown"
HELD_ABSURD_COMPETITOR = "circuit_breaker_absurd_competitor_price"
HELD_MANY_SKUS_MOVING = "circuit_breaker_many_skus_moving"
HOLD_REASONS = (HELD_COOLDOWN, HELD_ABSURD_COMPETITOR, HELD_MANY_SKUS_MOVING)
CYCLE_OUTCOMES = (CYCLE_CLEAN, CYCLE_STOCKED_OUT) = ("clean", "stocked_out")


@dataclass(slots=True)
class Outcome:
    """What applying one event did; `held` names a guardrail that held a price decision."""

    state: SkuState
    outputs: list[Output] = field(default_factory=list)
    duplicate: bool = False
    held: str | None = None
    cycle: str | None = None  # a receipt ended a replenishment cycle: one of CYCLE_OUTCOMES
    late_sale: bool = False  # an order line of a day the SKU had closed: counted in its open day
    late_click: bool = False  # a click signal of a day the SKU had closed: counted in its open day


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine-wide knobs."""

    min_history_days: int = 3  # learned days before the first restock or price decision
    # the weight a day of the price-response regression keeps per day after it (memory ~100
    # days; `models/elasticity.py`)
    elasticity_forgetting: float = 0.99
    dynamic_pricing: bool = True  # False: list prices stay (the static baseline of backtests)
    promotions: bool = True
    yearly_season: bool = True  # False: forecasts without the categories' yearly season
    pricing: pricing.PricingConfig = field(default_factory=pricing.PricingConfig)
    guardrails: GuardrailConfig = field(default_factory=GuardrailConfig)
    promo: promo.PromoConfig = field(default_factory=promo.PromoConfig)


AudienceSource = Callable[[str, int], Audience]  # (sku_id, size) -> the users to target


def service_level(catalog: dict[str, Any]) -> float:
    """A SKU's target cycle service level (95 % unless its catalog entry says otherwise)."""
    return catalog.get("service_level", 0.95)


def no_audience(sku_id: str, size: int) -> Audience:
    """The audience source of an engine without user models."""
    return Audience([], None, None)


def tick(sku_id: str, clock: float) -> dict[str, Any]:
    """A `sku-ticks` value: re-evaluate `sku_id` on the engine's event-time day (one per day)."""
    day = day_of(clock)
    return {"event_id": f"tick:{day}", "occurred_at": format_time(clock), "sku_id": sku_id}


SIGNAL_ACTIONS = ("click", "add_to_cart")
# The events whose time closes a SKU's demand days and moves the worker's clock: its sales and
# its daily tick. Other events are sparse and read at their topic's own pace: in a backlog a
# price change or receipt days ahead of the orders came first and closed the days between
# with part of their sales (README *Event time*).
DAY_CLOSING = ("order-lines", "sku-ticks")
# The most days a SKU's sales may run ahead of its open day while `InputEvent.closing_bound` holds
# that day open; a sale further ahead closes days up to this many before its own.
MAX_DAYS_AHEAD = 28


def closing_day(day: int, bound: int | None) -> int:
    """The day a sale or tick of `day` opens, closing the days before it: its own, unless `bound`
    (the earliest day whose orders may still come) holds an earlier one open, by at most
    MAX_DAYS_AHEAD days."""
    if bound is None:
        return day
    return max(min(day, bound), day - MAX_DAYS_AHEAD)


def sku_signal(click: dict[str, Any]) -> dict[str, Any]:
    """The `sku-signals` value of a click or add-to-cart (repartitioned by `sku_id`)."""
    return {k: click[k] for k in ("occurred_at", "sku_id", "action")} | {
        "event_id": f"sig:{click['event_id']}"
    }


def order_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Split an order into `order-lines` values keyed by `sku_id`, each with its own event id."""
    header = {k: order[k] for k in ("occurred_at", "order_id", "user_id", "status")}
    return [
        {"event_id": f"{order['event_id']}#{number}", **header, **line}
        for number, line in enumerate(order["lines"])
    ]


class MarketBreaker:
    """Counts SKUs whose price moved recently (event time) across everything this engine sees.

    Scope is the engine instance (one worker process); it resets on restart, which can only make
    it more permissive for one window. Checking costs the same however many SKUs moved: each
    moving SKU's moves in the window are counted as they come and go (building the set of movers
    on every check made a daily re-evaluation of n SKUs cost n²: 4 s of event loop at 20,000
    SKUs, hours at a million).
    """

    def __init__(self, config: GuardrailConfig) -> None:
        self.config = config
        self.moves: deque[tuple[float, str]] = deque()
        self.moving: Counter[str] = Counter()  # SKU -> its moves in the window
        self.known_skus = 0

    def would_trip(self, ts: float) -> bool:
        """True if one more move now would exceed the allowed share of SKUs moving at once."""
        window = self.config.breaker_window_hours * 3600
        while self.moves and self.moves[0][0] < ts - window:
            _, expired = self.moves.popleft()
            self.moving[expired] -= 1
            if not self.moving[expired]:
                del self.moving[expired]
        if self.known_skus < self.config.breaker_min_skus:
            return False
        moved = len(self.moving) + 1
        return moved > self.config.breaker_share * self.known_skus

    def record(self, ts: float, sku_id: str) -> None:
        self.moves.append((ts, sku_id))
        self.moving[sku_id] += 1


class SkuEngine:
    """Per-SKU logic: stock, demand and price-response learning, restock and price decisions."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        audience: AudienceSource = no_audience,
        store: KeyValueStore | None = None,
    ) -> None:
        """`store` keeps what the engine remembers across SKUs: a dict in-process; in the worker,
        the SKU table's partition of the SKU being applied, so it moves with that partition."""
        self.config = config or EngineConfig()
        self.breaker = MarketBreaker(self.config.guardrails)
        self.audience = audience
        store = {} if store is None else store
        self.decisions = DecisionLog(store)  # what each SKU decided lately
        self.cycle_pool = CyclePool(store)  # restock's correction per lead time
        # how far list prices are from their optimum, learned across SKUs (pricing's trust)
        self.list_price_error = ListPriceError(self.config.pricing.list_price_error, store)
        self.category_markups = CategoryMarkups(store)  # the list prices' markups by category
        self.clock: float | None = None  # newest sale or tick seen across SKUs: drives the ticks
        # each category's pooled price response: the prior of its SKUs to come
        self.category_priors = CategoryPriors(store)
        # each category's SKUs' price responses as they are: a prior in every SKU's pricing
        self.category_responses = CategoryResponses(store)
        self.category_seasons = CategorySeasons(store)  # each category's ISO weeks, by year
        self.intraday = IntradayProfile(store)  # when in the day orders come

    def apply(self, state: SkuState | None, event: InputEvent) -> Outcome:
        """Apply a validated event keyed by `sku_id` to its state (None for a new SKU)."""
        value = event.value
        state = state or SkuState(value["sku_id"])
        if event.topic == "catalog":
            self._apply_catalog(state, value)
            return Outcome(state)
        # a redelivered input whose effect is stored: its outputs were delivered with it (the
        # worker stores a batch's states only once the broker has its outputs). Positions catch
        # every redelivery and resent line or signal; the event-id window, inputs sent twice
        # upstream (click signals come from clicks that passed the users' window already).
        if state.positions.seen_before(event.read, event.origin) or (
            event.topic != "sku-signals" and state.recent.seen_before(value["event_id"])
        ):
            return Outcome(state, duplicate=True)
        assert event.ts is not None
        state.watermark = event.ts if state.watermark is None else max(state.watermark, event.ts)
        today = day_of(state.watermark)
        event_day = day_of(event.ts)
        new_day = False
        if event.topic in DAY_CLOSING:
            self.clock = event.ts if self.clock is None else max(self.clock, event.ts)
            day = event_day  # a SKU's first day is its own first event's
            if state.demand.day is not None:
                day = closing_day(event_day, event.closing_bound)
            new_day = self._learn_closed_days(state, day)
        outcome = Outcome(state)
        reprice = new_day
        if event.topic == "order-lines":
            if event.closing_bound is not None:  # orders of earlier days may still come
                state.demand.move_first_day(event_day)
                state.clicks.move_first_day(event_day)
            self._apply_order_line(state, value, event_day)
            if value["status"] == "placed":
                self.intraday.learn(event.ts, value["quantity"])
            late = event_day < state.demand.day  # type: ignore[operator]
            outcome.late_sale = late and value["status"] != "returned"
        elif event.topic == "inventory":
            self._apply_inventory(state, value, today, outcome)
        elif event.topic == "price-changes":
            reprice = self._apply_price_change(state, value, outcome) or reprice
        elif event.topic == "sku-signals":
            outcome.late_click = state.clicks.add_click(event_day)
        if state.demand.day is not None:
            at = event.ts - state.demand.day * SECONDS_PER_DAY
            state.demand.mark_stock(state.out_of_stock, at, self.intraday.share)
        if state.out_of_stock:
            state.cycles.observe_stockout(state.demand.shifting)
        outcome.outputs.extend(self._restock(state, value["event_id"]))
        if reprice and outcome.held is None and self.config.dynamic_pricing:
            self._reprice(state, value["event_id"], today, outcome)
        if new_day and self.config.promotions:
            self._promote(state, value["event_id"], today, outcome)
        selling = state.selling_price
        if selling is not None:
            state.record_price(today, selling)
        if outcome.outputs:
            self.decisions.remember(
                state.sku_id, value["event_id"], [(o.topic, o.value) for o in outcome.outputs]
            )
        return outcome

    def _learn_closed_days(self, state: SkuState, today: int) -> bool:
        """Close days up to today, one at a time, as they would have closed had each day's sales
        come in order (days held open for orders or clicks still to come close together);
        feed each observed day to the price-response and click models."""
        demand = state.demand
        if demand.day is None or today <= demand.day:
            state.clicks.advance(today)
            demand.advance(today, stocked_out=state.out_of_stock)  # opens the first day, or a no-op
            return False
        # a longer gap is one jump, whose days past MAX_GAP_DAYS are not learned
        gap = today - demand.day
        for day in range(demand.day + 1, today + 1) if gap <= MAX_GAP_DAYS else [today]:
            self._close_days_before(state, day)
        if state.catalog is not None:
            estimate, stderr, _ = state.elasticity.estimate()
            self.category_priors.update(state.catalog["category"], estimate, stderr)
            self._learn_category_response(state)
            self._learn_markup(state)
            self._learn_list_price_error(state)
        return True

    def _learn_category_response(self, state: SkuState) -> None:
        """Replace the SKU's part in its category's pooled price responses by its latest
        estimate, read without the pool."""
        assert state.catalog is not None
        new = part_of(*state.elasticity.own_price_response()[:2])
        self.category_responses.update(state.catalog["category"], state.category_response, new)
        state.category_response = new

    def _learn_markup(self, state: SkuState) -> None:
        """Replace the SKU's part in its category's list-price markups by its latest ones (on
        its catalog records and cost changes, and on its learned days: a state stored before
        stop 42 joins then)."""
        assert state.catalog is not None
        new = markup_of(state.catalog["list_price"], state.unit_cost)
        self.category_markups.update(state.catalog["category"], state.markup, new)
        state.markup = new

    def _learn_list_price_error(self, state: SkuState) -> None:
        """Replace the SKU's part in the pooled estimate of how far list prices, and its
        category's markups, are from their optimum by what its latest price response says."""
        assert state.catalog is not None
        new, blend = None, None
        if state.unit_cost is not None:
            cost, list_price = state.unit_cost, state.catalog["list_price"]
            new = squared_distance(cost, list_price, *self.price_response(state)[:2])
            peer = peer_price(state, self.category_markups)
            if peer is not None:
                blend = blend_part(cost, list_price, peer, *state.elasticity.data_response())
        self.list_price_error.update(state.list_price_distance, new)
        self.list_price_error.update_blend(state.list_price_blend, blend)
        state.list_price_distance, state.list_price_blend = new, blend

    def _close_days_before(self, state: SkuState, day: int) -> None:
        """Close the days before `day` (the open one, and those of a gap); open `day`."""
        state.clicks.advance(day)  # first: a day's demand is related to the day before's clicks
        demand = state.demand
        day_price = demand.revenue / demand.units if demand.units > 0 else state.price
        factor = price_factor(state, day_price)
        signal = state.clicks.multiplier(demand.day)  # type: ignore[arg-type]
        for closed in demand.advance(
            day,
            stocked_out=state.out_of_stock,
            price_factor=factor,
            signal=signal,
            share=self.intraday.share,
        ):
            price = closed.revenue / closed.units if closed.units > 0 else state.price
            if price and closed.expected is not None:  # the first week has no baseline yet
                state.elasticity.learn(
                    price,
                    closed.units,
                    state.competitor_min,
                    self.response_baseline(state, closed),
                    self.config.elasticity_forgetting,
                )
            if closed.surprise is not None:
                state.clicks.learn(closed.day, closed.surprise)
            if closed.baseline_ratio is not None and state.catalog is not None:
                self.category_seasons.learn(
                    state.catalog["category"], closed.day, closed.baseline_ratio
                )
        self._set_yearly(state)

    def _set_yearly(self, state: SkuState) -> None:
        """Give the open day, and the days the SKU's forecasts reach, its category's yearly
        factors."""
        if state.catalog is None or state.demand.day is None or not self.config.yearly_season:
            return
        catalog = state.catalog
        days = 1 + restock.protection_days(
            catalog["lead_time_days"], catalog.get("review_days", 1.0)
        )
        factors = self.category_seasons.factors(catalog["category"], state.demand.day, days)
        state.demand.set_yearly(state.demand.day, factors)

    def _apply_catalog(self, state: SkuState, value: dict[str, Any]) -> None:
        if state.catalog is None:
            self.breaker.known_skus += 1
            if state.elasticity.n == 0:
                state.elasticity.prior_elasticity = self.category_priors.prior(value["category"])
        elif state.catalog["category"] != value["category"]:
            self._leave_category(state)
        state.catalog = {k: v for k, v in value.items() if k != "sku_id"}
        if state.price is None:
            state.price = value["list_price"]
        if state.unit_cost is None:
            state.unit_cost = value["unit_cost"]
        self._learn_markup(state)

    def _leave_category(self, state: SkuState) -> None:
        """Take the SKU's parts out of its category's pools before it moves to another (they
        join the new one's as they are learned again)."""
        assert state.catalog is not None
        category = state.catalog["category"]
        self.category_responses.update(category, state.category_response, None)
        self.category_markups.update(category, state.markup, None)
        state.category_response = state.markup = None

    @staticmethod
    def _apply_order_line(state: SkuState, value: dict[str, Any], day: int) -> None:
        quantity, price = value["quantity"], value["unit_price"]
        if value["status"] == "placed":
            # an order that takes the last unit (or finds too few) ends the time in stock: its
            # units are not counted in the rate demand came at while there was stock
            ends_stock = state.stock_known and quantity >= state.net_stock
            state.net_stock -= quantity
            state.demand.add_sale(quantity, price, day, quantity if ends_stock else 0)
        elif value["status"] == "cancelled":
            state.net_stock += quantity
            state.demand.add_sale(-quantity, price, day)
        else:  # returned: back on the shelf; the sale happened, so demand stays
            state.net_stock += quantity

    def _apply_inventory(
        self, state: SkuState, value: dict[str, Any], today: int, outcome: Outcome
    ) -> None:
        quantity = value["quantity"]
        kind = value["kind"]
        state.stock_known = state.stock_known or kind != "adjustment"
        if kind == "snapshot":
            state.net_stock = quantity
        elif kind == "adjustment":
            state.net_stock += quantity
        else:
            if state.catalog is not None:
                target = service_level(state.catalog)
                closed = state.cycles.close(today, target)
                if closed is not None:
                    outcome.cycle = CYCLE_STOCKED_OUT if closed.stocked_out else CYCLE_CLEAN
                    shared = state.demand.tracking_signal < cycle_service.POOL_SIGNAL_MAX
                    if closed.learned and shared:
                        lead_time = state.catalog["lead_time_days"]
                        self.cycle_pool.learn(lead_time, closed.stocked_out, target)
            state.net_stock += quantity
            _clear_on_order(state.outstanding, quantity, value.get("decision_id"))

    def _apply_price_change(self, state: SkuState, value: dict[str, Any], outcome: Outcome) -> bool:
        """Apply a price change; True when it should trigger a price re-evaluation."""
        kind, price = value["kind"], value["price"]
        if kind == "list":
            state.price = price
            return False
        if kind == "cost":
            state.unit_cost = price
            if state.catalog is not None:
                self._learn_markup(state)
            return True
        bounds = self._bounds(state)
        if bounds is not None and competitor_is_absurd(price, bounds, self.config.guardrails):
            outcome.held = HELD_ABSURD_COMPETITOR
            return False
        prices = state.competitor_prices
        prices.pop(value["competitor_id"], None)
        prices[value["competitor_id"]] = price
        while len(prices) > MAX_COMPETITORS:
            del prices[next(iter(prices))]
        return True

    def _ready(self, state: SkuState) -> bool:
        return state.catalog is not None and state.demand.n >= self.config.min_history_days

    def _restock(self, state: SkuState, trigger: str) -> list[Output]:
        if not self._ready(state):
            return []
        catalog = state.catalog
        assert catalog is not None and state.demand.day is not None
        pooled = state.cycles.pooled = self.cycle_pool.offset(catalog["lead_time_days"])
        params = self.restock_params(state, pooled)
        mean, std = self.restock_forecast(state, params)
        position = state.inventory_position
        plan = restock.plan(mean, std, params, position)
        if plan.quantity <= 0:
            return []
        output = restock_request(state, params, plan, (mean, std), position, trigger, pooled)
        state.outstanding[output.value["decision_id"]] = plan.quantity
        return [output]

    def restock_params(self, state: SkuState, pooled: float) -> restock.RestockParams:
        """The SKU's replenishment parameters from its catalog entry, its safety factor corrected
        by its realised cycles and (`pooled`) its lead time's."""
        catalog = state.catalog
        assert catalog is not None
        return restock.RestockParams(
            lead_time_days=catalog["lead_time_days"],
            review_days=catalog.get("review_days", 1.0),
            service_level=service_level(catalog),
            order_multiple=catalog.get("order_multiple", 1),
            z_offset=self.safety_correction(state, pooled),
        )

    def safety_correction(self, state: SkuState, pooled: float) -> float:
        """What the realised cycles of the SKU and (`pooled`) of its lead time's SKUs add to its
        safety factor (`cycle_service`)."""
        assert state.catalog is not None
        return cycle_service.safety_correction(state.cycles, pooled, service_level(state.catalog))

    def restock_forecast(
        self, state: SkuState, params: restock.RestockParams
    ) -> tuple[float, float]:
        """Mean daily demand over the protection period (weekday and yearly factors, current
        price) and the one-day error spread."""
        assert state.demand.day is not None
        horizon = restock.protection_days(params.lead_time_days, params.review_days)
        return state.demand.forecast(state.demand.day + 1, horizon, forecast_factor(state))

    def _bounds(self, state: SkuState) -> PriceBounds | None:
        if state.catalog is None or state.unit_cost is None:
            return None
        c = state.catalog
        return PriceBounds(c["min_price"], c["max_price"], state.unit_cost, c.get("map_price"))

    def _reprice(self, state: SkuState, trigger: str, today: int, outcome: Outcome) -> None:
        bounds = self._bounds(state)
        if bounds is None or state.price is None or not self._ready(state):
            return
        assert state.watermark is not None and state.catalog is not None
        guard = self.config.guardrails
        window = guard.cooldown_hours * 3600
        state.price_changes = [t for t in state.price_changes if t > state.watermark - window]
        if len(state.price_changes) >= guard.max_changes:
            outcome.held = HELD_COOLDOWN
            return
        response = self.price_response(state)
        spread, days = state.elasticity.price_spread()
        view = pricing.MarketView(
            price=state.price,
            anchor=price_anchor(state, self.list_price_error, self.category_markups),
            unit_cost=bounds.unit_cost,
            elasticity=response[0],
            stderr=response[1],
            own_stderr=self.exploration_stderr(state),
            demand_per_day=demand_at_list_price(state),
            on_hand=stock_to_sell(state),
            cover_days_needed=state.catalog["lead_time_days"],
            day=today,
            price_spread=spread,
            learned_days=days,
        )
        target = pricing.target_price(state.sku_id, view, self.config.pricing)
        guarded = guard_price(state.price, target.price, bounds, guard)
        if abs(guarded.price - state.price) < self.config.pricing.min_change * state.price:
            return
        if self.breaker.would_trip(state.watermark):
            outcome.held = HELD_MANY_SKUS_MOVING
            return
        outcome.outputs.append(
            price_adjustment(state, state.price, target, guarded, response, trigger)
        )
        self.breaker.record(state.watermark, state.sku_id)
        state.price = guarded.price
        state.price_changes.append(state.watermark)

    def response_baseline(self, state: SkuState, closed: ClosedDay) -> float:
        """The units the price-response regression expects on a closed day at the list price:
        the demand model's forecast, made before the day (backtests swap in the truth to
        measure what the forecast's errors cost the estimate)."""
        assert closed.expected is not None
        return closed.expected

    def exploration_stderr(self, state: SkuState) -> float:
        """The standard error exploration reads: the SKU's own regression's, without its
        category's prior (`pricing.MarketView.own_stderr`; the backtests' bound: 0)."""
        return state.elasticity.own_price_response()[1]

    def price_response(self, state: SkuState) -> tuple[float, float, float]:
        """What pricing knows of the SKU's price response: the own-price response, its standard
        error and the cross elasticity (backtests swap in the truth to bound what learning it
        is worth): `priced_response` with this engine's pool."""
        return priced_response(state, self.category_responses)

    def _promote(self, state: SkuState, trigger: str, today: int, outcome: Outcome) -> None:
        bounds = self._bounds(state)
        running = state.promo
        if bounds is None or state.price is None or not self._ready(state):
            return
        assert state.catalog is not None  # a ready SKU has one
        # the price a discount is advertised against: the 30-day low (today's list included) at
        # the start, kept while the promotion runs
        reference = (
            min(state.reference_price_30d_min or state.price, state.price)
            if running is None
            else running["reference"]
        )
        config = self.config.promo
        mean = demand_at_list_price(state)
        stock = stock_to_sell(state)
        plan = promo.plan_promo(
            state.price,
            reference,
            stock,
            mean,
            state.catalog["lead_time_days"],
            self.config.pricing.carrying_rate,
            hard_floor(bounds, self.config.guardrails),
            config,
        )
        if running is None:
            if plan.discount <= 0:
                return
            action, until = "start", today + config.duration_days
        elif today >= running["until"] or stock < mean * config.overstock_days / 2:
            action, until = "stop", today
            reason = "promotion_expired" if today >= running["until"] else "stock_normal"
            plan = promo.PromoPlan(0.0, state.price, reference, [reason])
        elif plan.discount <= 0 and plan.reasons:  # no longer a discount worth advertising
            action, until = "stop", today
        elif plan.discount > 0 and abs(plan.discount - running["discount"]) >= config.update_step:
            action, until = "update", running["until"]
        else:
            return
        audience = Audience([], None, None)
        bid = 0.0
        if action != "stop":
            audience = self.audience(state.sku_id, config.audience_size)
            ctr_ratio = 1.0
            if audience.predicted_ctr is not None and audience.base_ctr:
                ctr_ratio = audience.predicted_ctr / audience.base_ctr
            margins = (plan.promo_price - bounds.unit_cost, state.price - bounds.unit_cost)
            bid = promo.bid_multiplier(ctr_ratio, *margins, config)
        outcome.outputs.append(
            promo_adjustment(
                state, action, plan, audience, bid, until, state.catalog["category"], trigger
            )
        )
        state.promo = None
        if action != "stop":
            state.promo = {
                "discount": plan.discount,
                "until": until,
                "price": plan.promo_price,
                "reference": reference,
            }


def forecast_factor(state: SkuState, price: float | None = None) -> float:
    """Demand multiplier for forecasts made now: `price` (by default the selling price,
    promotions included) against the list price, and yesterday's click surprise (the leading
    signal)."""
    day = state.demand.day
    clicks = state.clicks.multiplier(day) if day is not None else 1.0
    return price_factor(state, state.selling_price if price is None else price) * clicks


def stock_to_sell(state: SkuState) -> int:
    """Units on hand and on order: what pricing and promotions weigh against demand."""
    return max(state.net_stock, 0) + state.on_order


def demand_at_list_price(state: SkuState) -> float:
    """The mean daily demand forecast at the list price, promotions aside: what pricing and
    promotions weigh stock against."""
    return state.demand.forecast(price_factor=forecast_factor(state, state.price))[0]


# The most demand at some price is taken to differ from demand at the list price, either way.
# The response is estimated from prices near the list price; far from it (a list price typed as
# 0.0001) it had restock ask for 10^16 units. A 30 % promotion at r = −3.1 is a factor of 3.
MAX_PRICE_FACTOR = 10.0


def priced_response(state: SkuState, categories: CategoryResponses) -> tuple[float, float, float]:
    """The SKU's own-price response, its standard error and the cross elasticity, from its own
    regression with its category's other SKUs in `categories` as a prior."""
    if state.catalog is None:
        return state.elasticity.own_price_response()
    pooled = categories.prior(state.catalog["category"], state.category_response)
    return state.elasticity.own_price_response(pooled)


def peer_price(state: SkuState, markups: CategoryMarkups) -> float | None:
    """The price the SKU's category's other SKUs' markups in `markups` give its unit cost, or
    None (no cost, too few peers)."""
    if state.catalog is None or state.unit_cost is None:
        return None
    return markups.peer_price(state.catalog["category"], state.markup, state.unit_cost)


def price_anchor(state: SkuState, list_prices: ListPriceError, markups: CategoryMarkups) -> Anchor:
    """Where pricing's target starts from: the SKU's list price blended with its category's
    markups' price, by how near each has been to the SKUs' estimated optima in `list_prices`."""
    assert state.catalog is not None
    return list_prices.anchor(state.catalog["list_price"], peer_price(state, markups))


def price_factor(state: SkuState, price: float | None) -> float:
    """Demand at `price` relative to demand at the list price (competitors' prices held), by the
    current own-price response estimate, within 1/`MAX_PRICE_FACTOR` … `MAX_PRICE_FACTOR`."""
    if state.catalog is None or not price:
        return 1.0
    elasticity = state.elasticity.own_price_response()[0]
    ratio = price / state.catalog["list_price"]
    log_factor = elasticity * math.log(ratio)
    bound = math.log(MAX_PRICE_FACTOR)
    return math.exp(min(max(log_factor, -bound), bound))


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
