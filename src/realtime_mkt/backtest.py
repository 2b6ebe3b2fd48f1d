"""`realtime-mkt backtest`: the same engine, in-process, over a simulated market with known truth.

A run feeds the market's events through validation and the engines exactly as the worker would,
carries the decisions back into the market (prices change, promotions run, goods arrive after the
lead time), and records the truth next to what the models believed. `evaluate` turns a run and
its baselines into the report's figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api.typing import DataFrameGroupBy
from tqdm import tqdm

from realtime_mkt.catalogue import load_catalogue
from realtime_mkt.decisions import Audience
from realtime_mkt.engine import (
    SIGNAL_ACTIONS,
    AudienceSource,
    EngineConfig,
    SkuEngine,
    forecast_factor,
    order_lines,
    sku_signal,
    tick,
)
from realtime_mkt.events import decode
from realtime_mkt.models.ctr import CtrModel
from realtime_mkt.models.daily_demand import FORECAST_AFTER_DAYS, ClosedDay, day_of
from realtime_mkt.models.preference import PreferenceModel
from realtime_mkt.policies import restock
from realtime_mkt.policies.guardrails import GuardrailConfig
from realtime_mkt.policies.pricing import PricingConfig
from realtime_mkt.sim.market import DAY, SCENARIOS, START, Market
from realtime_mkt.sku_state import SkuState
from realtime_mkt.user_engine import UserEngine, UserState

EQUAL_SERVICE_TARGETS = (0.95, 0.9, 0.975, 0.99)  # what the static (s, S) baseline is asked for
CARRYING_RATE = 0.25  # a year, of unit cost: capital, space, shrink (the usual 20–30 %)
Targeting = Literal["model", "random"]  # whom promotions aim at: the user models' pick, or chance


@dataclass
class Run:
    """Everything a backtest run produced."""

    market: Market
    decisions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forecasts: list[dict[str, Any]] = field(default_factory=list)
    users: UserEngine | None = None
    baseline_ctr: CtrModel | None = None
    catalog: dict[str, dict[str, Any]] = field(default_factory=dict)


class TunedRestockEngine(SkuEngine):
    """The restock baseline: a static (s, S) per SKU, tuned on its first `tuned_days` of demand.

    Until then it plans like the engine; from then on it keeps the mean and spread it had. Its
    safety factor is the target's throughout (no correction from realised cycles).
    """

    def __init__(self, config: EngineConfig, tuned_days: int = 28, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.tuned_days = tuned_days
        self.frozen: dict[str, tuple[float, float]] = {}

    def safety_correction(self, state: SkuState, pooled: float) -> float:
        return 0.0

    def restock_forecast(
        self, state: SkuState, params: restock.RestockParams
    ) -> tuple[float, float]:
        if state.sku_id in self.frozen:
            return self.frozen[state.sku_id]
        forecast = super().restock_forecast(state, params)
        if state.demand.n >= self.tuned_days:
            self.frozen[state.sku_id] = forecast
        return forecast


class KnownResponseEngine(SkuEngine):
    """The pricing bound: the engine, pricing with each SKU's true own-price response and cross
    elasticity (standard error 0, so neither shrunk toward the list price nor explored)."""

    def __init__(self, config: EngineConfig, market: Market, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.truth = {s.sku_id: (s.response, 0.0, s.cross) for s in market.skus}

    def price_response(self, state: SkuState) -> tuple[float, float, float]:
        return self.truth[state.sku_id]

    def exploration_stderr(self, state: SkuState) -> float:
        return 0.0


class KnownBaselineEngine(SkuEngine):
    """The engine, its price-response regression learning each closed day against the true
    expected units at the list price (that day's competitor price held) instead of the demand
    forecast: what the forecast's errors cost the estimates."""

    def __init__(self, config: EngineConfig, market: Market, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.market = market
        self.skus = {s.sku_id: s for s in market.skus}

    def response_baseline(self, state: SkuState, closed: ClosedDay) -> float:
        sku, day = self.skus[state.sku_id], closed.day - day_of(START)
        logged = next(
            (r for r in reversed(self.market.log) if r["day"] == day and r["sku_id"] == sku.sku_id),
            None,
        )
        competitor = None if logged is None else logged["competitor"]
        return self.market.mean_demand(sku, day, sku.list_price, competitor)


def random_audience(users: UserEngine, market: Market) -> AudienceSource:
    """Targeting's baseline: a SKU's promotions reach the same users, drawn at random from the
    market's, in place of the preference model's top ones (the bid from the CTR model's
    predictions for them, as for the model's audience)."""
    numbers = {s.sku_id: s.number for s in market.skus}

    def audience(sku_id: str, size: int) -> Audience:
        rng = np.random.default_rng([market.seed, numbers[sku_id]])
        drawn = rng.choice(len(market.users), min(size, len(market.users)), replace=False)
        return users.scored_audience(sku_id, [market.users[i] for i in sorted(drawn)])

    return audience


def audience_click_rates(run: Run, size: int = 100) -> dict[str, float]:
    """How well promotions would be aimed at the end of `run`: the true ad CTR (slot 2) of the
    preference model's audience, of `random_audience`'s and of the `size` users the market knows
    are keenest, each averaged over the SKUs."""
    market, users = run.market, run.users
    assert users is not None
    chance = random_audience(users, market)
    rates: dict[str, list[float]] = {"model": [], "random": [], "best": []}
    for sku in market.skus:
        truth = np.array([market.click_probability(sku, u, "ad", 2) for u in range(market.n_users)])
        for name, source in (("model", users.audience), ("random", chance)):
            picked = [market.user_number[u] for u in source(sku.sku_id, size).user_ids]
            rates[name].append(float(truth[picked].mean()))
        rates["best"].append(float(np.sort(truth)[-size:].mean()))
    return {name: round(float(np.mean(values)), 4) for name, values in rates.items()}


class _Driver:
    """Feeds events to the engines the way the worker's agents do."""

    def __init__(
        self,
        run: Run,
        config: EngineConfig,
        tuned_restock: bool,
        known_response: bool,
        targeting: Targeting = "model",
        known_baseline: bool = False,
    ) -> None:
        self.run = run
        self.users = UserEngine(CtrModel(), PreferenceModel())
        self.baseline = UserEngine(CtrModel.plain(), PreferenceModel())
        audience = self.users.audience
        if targeting == "random":
            audience = random_audience(self.users, run.market)
        if tuned_restock:
            self.engine: SkuEngine = TunedRestockEngine(config, audience=audience)
        elif known_response:
            self.engine = KnownResponseEngine(config, run.market, audience=audience)
        elif known_baseline:
            self.engine = KnownBaselineEngine(config, run.market, audience=audience)
        else:
            self.engine = SkuEngine(config, audience=audience)
        self.skus: dict[str, SkuState] = {}
        self.user_states: dict[str, UserState] = {}
        self.baseline_states: dict[str, UserState] = {}
        self.keys = {name: spec.key for name, spec in load_catalogue().items()}
        run.users, run.baseline_ctr = self.users, self.baseline.ctr

    def feed(self, topic: str, value: dict[str, Any], day: int) -> None:
        event = decode(topic, value[self.keys[topic]].encode(), json.dumps(value).encode())
        if topic == "catalog":
            self.run.catalog[value["sku_id"]] = value
        if topic == "clicks":
            user = value["user_id"]
            outcome = self.users.apply(self.user_states.get(user), event)
            self.user_states[user] = outcome.state
            baseline = self.baseline.apply(self.baseline_states.get(user), event)
            self.baseline_states[user] = baseline.state
            if not outcome.duplicate and value["action"] in SIGNAL_ACTIONS:
                self.feed("sku-signals", sku_signal(value), day)
            return
        if topic == "orders":
            for line in order_lines(event.value):
                self.users.learn_purchase(line["user_id"], line["sku_id"])
                self.feed("order-lines", line, day)
            return
        outcome = self.engine.apply(self.skus.get(value["sku_id"]), event)
        self.skus[value["sku_id"]] = outcome.state
        for out in outcome.outputs:
            self.run.decisions.setdefault(out.topic, []).append(out.value)
            for name, follow_up in self.run.market.apply(out.topic, out.value, day):
                self.feed(name, follow_up, day)

    def tick(self, day: int) -> None:
        """Each known SKU's tick for `day`, as the worker's timer sends them once its clock is
        in a new day: a SKU with no sale that day still closes the day before."""
        for sku_id in list(self.skus):
            self.feed("sku-ticks", tick(sku_id, START + day * DAY), day)

    def record_forecasts(self, day: int) -> None:
        """The engine's forecast of each SKU's demand today, at today's price, before it happens.

        `day` counts market days; the model's weekday factors are indexed by UTC day number.
        """
        utc_day = day_of(START) + day
        for sku_id, state in self.skus.items():
            if state.demand.n >= FORECAST_AFTER_DAYS:
                mean, std = state.demand.forecast(utc_day, 1, forecast_factor(state))
                self.run.forecasts.append({"day": day, "sku_id": sku_id, "mean": mean, "std": std})


def run_backtest(
    scenario: str,
    days: int,
    n_skus: int,
    seed: int,
    dynamic: bool = True,
    tuned_restock: bool = False,
    progress: bool = True,
    service_level: float = 0.95,
    known_response: bool = False,
    pricing_config: PricingConfig | None = None,
    promotions: bool = True,
    targeting: Targeting = "model",
    yearly_season: bool = True,
    known_baseline: bool = False,
) -> Run:
    """Simulate `days` days of `scenario` with the engine deciding; `dynamic=False` keeps list
    prices (the pricing baseline), `tuned_restock=True` swaps in the static (s, S) baseline,
    `service_level` is the cycle service level the catalog asks restocking for,
    `known_response=True` prices with the true price response (the bound on learning it),
    `known_baseline=True` learns it against the true expected units instead of the forecast
    (`KnownBaselineEngine`),
    `pricing_config` replaces the pricing policy's defaults, `promotions=False` leaves overstock
    to the list price's markdown, `targeting="random"` aims promotions at random users
    (`random_audience`) instead of the preference model's, `yearly_season=False` forecasts
    without the categories' yearly season."""
    market = Market(SCENARIOS[scenario], seed=seed, n_skus=n_skus, service_level=service_level)
    run = Run(market)
    config = EngineConfig(
        dynamic_pricing=dynamic,
        promotions=dynamic and promotions,
        yearly_season=yearly_season,
        pricing=pricing_config or PricingConfig(),
    )
    driver = _Driver(run, config, tuned_restock, known_response, targeting, known_baseline)
    kind = (
        "static (s,S)" if tuned_restock
        else "known price response" if known_response
        else "known demand baseline" if known_baseline
        else ("engine" if promotions else "engine, no promotions") if dynamic
        else "static prices"
    )  # fmt: skip
    label = f"{scenario} ({kind}, service {service_level})"
    for day in tqdm(range(days), desc=label, unit="day", disable=not progress):
        for topic, value in market.catalog_events(day):
            driver.feed(topic, value, day)
        driver.record_forecasts(day)
        events = market.day_events(day)  # the day's sales are drawn at the prices it opened with
        driver.tick(day)
        for topic, value in events:
            driver.feed(topic, value, day)
    return run


def run_restock_baselines(
    scenario: str, days: int, n_skus: int, seed: int, progress: bool = True
) -> list[Run]:
    """The static (s, S) baseline asked for each of `EQUAL_SERVICE_TARGETS`, the first being the
    engine's own target: its stock against the service it bought."""
    return [
        run_backtest(
            scenario,
            days,
            n_skus,
            seed,
            tuned_restock=True,
            progress=progress,
            service_level=target,
        )
        for target in EQUAL_SERVICE_TARGETS
    ]


def service_frontier(runs: list[Run]) -> list[dict[str, float]]:
    """Each run's target, realised cycle service level and average stock on hand."""
    points = []
    for run in runs:
        log = pd.DataFrame(run.market.log)
        points.append({
            "target": run.market.service_level,
            "cycle_service_level": cycle_service_level(log),
            "avg_on_hand": average_on_hand(log),
        })  # fmt: skip
    return points


def stock_at_service(frontier: list[dict[str, float]], service: float) -> float | None:
    """The stock a policy would hold at cycle service `service`: linear between its runs on
    either side (by realised service); None outside their range."""
    points = sorted((p["cycle_service_level"], p["avg_on_hand"]) for p in frontier)
    for (s0, h0), (s1, h1) in pairwise(points):
        if s0 <= service <= s1:
            return round(h0 if s1 == s0 else h0 + (h1 - h0) * (service - s0) / (s1 - s0), 2)
    return None


def carrying_cost(log: pd.DataFrame) -> float:
    """What holding the stock cost: end-of-day units on hand at unit cost, `CARRYING_RATE` a year."""
    held = (log.on_hand_end.clip(lower=0) * log.unit_cost).sum()
    return round(float(held * CARRYING_RATE / 365), 2)


def stock_value_end(log: pd.DataFrame) -> float:
    """Stock on hand at unit cost at the end of the last day."""
    last = log[log.day == log.day.max()]
    return round(float((last.on_hand_end.clip(lower=0) * last.unit_cost).sum()), 2)


def average_on_hand(log: pd.DataFrame) -> float:
    """Units on hand at the end of a day, per SKU and day (a stock-out counts as zero)."""
    return round(float(log.on_hand_end.clip(lower=0).mean()), 2)


def evaluate(run: Run, static: Run, restock_baselines: list[Run]) -> dict[str, Any]:
    """The report's figures, each next to its baseline: static list prices for pricing; for
    restocking the static (s, S) at the engine's target, and that policy's stock interpolated
    to the engine's realised service (`run_restock_baselines`)."""
    tuned = restock_baselines[0]
    log = pd.DataFrame(run.market.log)
    static_log = pd.DataFrame(static.market.log)
    tuned_log = pd.DataFrame(tuned.market.log)
    frontier = service_frontier(restock_baselines)  # its first point is `tuned`'s
    service = cycle_service_level(log)
    profit, clairvoyant, static_profit = (
        log.profit.sum(),
        log.clairvoyant_profit.sum(),
        static_log.profit.sum(),
    )
    assert run.users is not None and run.baseline_ctr is not None
    ctr, ctr_base = run.users.ctr.health(), run.baseline_ctr.health()
    reco = run.users.preference.health()
    forecast = _forecast_accuracy(log, pd.DataFrame(run.forecasts))
    return {
        "profit": round(float(profit), 2),
        "profit_clairvoyant": round(float(clairvoyant), 2),
        "profit_static": round(float(static_profit), 2),
        "profit_vs_clairvoyant": round(float(profit / clairvoyant), 4),
        "profit_vs_clairvoyant_static": round(float(static_profit / clairvoyant), 4),
        "profit_lift_vs_static": round(float(profit / static_profit - 1), 4),
        "carrying_cost": carrying_cost(log),
        "carrying_cost_static": carrying_cost(static_log),
        "stock_value_end": stock_value_end(log),
        "stock_value_end_static": stock_value_end(static_log),
        "cycle_service_level": service,
        "cycle_service_level_target": run.market.service_level,
        "cycle_service_level_baseline": frontier[0]["cycle_service_level"],
        "cycle_service_level_by_lead_time": cycle_service_by_lead_time(log, run.catalog),
        "cycle_service_level_by_lead_time_baseline": cycle_service_by_lead_time(
            tuned_log, tuned.catalog
        ),
        "fill_rate": fill_rate(log),
        "fill_rate_baseline": fill_rate(tuned_log),
        "avg_on_hand": average_on_hand(log),
        "avg_on_hand_baseline": frontier[0]["avg_on_hand"],
        "avg_on_hand_baseline_equal_service": stock_at_service(frontier, service),
        "restock_baseline_frontier": frontier,
        "guardrail_violations": guardrail_violations(run),
        "decisions": {topic: len(values) for topic, values in sorted(run.decisions.items())},
        "ctr_logloss": round(ctr["log_loss"], 5),
        "ctr_logloss_baseline": round(ctr_base["log_loss"], 5),
        "ctr_normalised_entropy": round(ctr["normalised_entropy"], 4),
        "ctr_calibration": round(ctr["calibration"], 4),
        "ctr_calibration_baseline": round(ctr_base["calibration"], 4),
        "impressions": ctr["n"],
        **forecast,
        "promotion_ads": promotion_ads(log),
        "reco_mae": round(reco["mae"], 4),
        "reco_rmse": round(reco["rmse"], 4),
        "reco_mae_baseline": round(reco["mae_popularity"], 4),
        "reco_rmse_baseline": round(reco["rmse_popularity"], 4),
    }


def promotion_ads(log: pd.DataFrame) -> dict[str, float]:
    """What the promotions' ads did: impressions, clicks, their CTR, units sold, spend, and
    their profit: the margin of the units they sold at the day's price, less the spend."""
    impressions, clicks = int(log.ad_impressions.sum()), int(log.ad_clicks.sum())
    spend = float(log.ad_spend.sum())
    margin = float((log.ad_units * (log.price - log.unit_cost)).sum())
    return {
        "impressions": impressions,
        "clicks": clicks,
        "ctr": round(clicks / impressions, 4) if impressions else 0.0,
        "units": int(log.ad_units.sum()),
        "spend": round(spend, 2),
        "profit": round(margin - spend, 2),
    }


def fill_rate(log: pd.DataFrame) -> float:
    """Units sold over units demanded (demand beyond stock is lost)."""
    return round(float(log.sold.sum() / max(log.demand.sum(), 1)), 4)


def _forecast_accuracy(log: pd.DataFrame, forecasts: pd.DataFrame) -> dict[str, float]:
    demand = log.set_index(["sku_id", "day"]).demand
    rows = forecasts.join(demand, on=["sku_id", "day"]).dropna()
    naive = rows.apply(lambda r: demand.get((r.sku_id, r.day - 7), np.nan), axis=1)
    ok = naive.notna()
    errors = (rows.demand - rows["mean"]).abs()[ok]
    naive_errors = (rows.demand - naive).abs()[ok]
    covered = (rows.demand - rows["mean"]).abs() <= 1.645 * rows["std"]
    return {
        "forecast_mase": round(float(errors.mean() / naive_errors.mean()), 4),
        "forecast_mase_baseline": 1.0,
        "forecast_pi90_coverage": round(float(covered.mean()), 4),
        "forecasts_scored": int(ok.sum()),
    }


def cycle_counts(log: pd.DataFrame) -> tuple[int, int]:
    """Replenishment cycles (receipt to receipt, per SKU) and how many of them stocked out."""
    cycles = stocked_out_cycles = 0
    for _, rows in log.sort_values("day").groupby("sku_id"):
        stocked_out = False
        for received, demand, sold in zip(rows.received, rows.demand, rows.sold, strict=True):
            if received:
                cycles += 1
                stocked_out_cycles += stocked_out
                stocked_out = False
            stocked_out = stocked_out or demand > sold
    return cycles, stocked_out_cycles


def service_share(cycles: int, stocked_out: int) -> float:
    """The share of `cycles` without a stock-out, to four places (1.0 without cycles)."""
    return round((cycles - stocked_out) / cycles, 4) if cycles else 1.0


def cycle_service_level(log: pd.DataFrame) -> float:
    """Share of replenishment cycles without a stock-out."""
    return service_share(*cycle_counts(log))


def by_lead_time(log: pd.DataFrame, catalog: dict[str, dict[str, Any]]) -> DataFrameGroupBy:
    """The log's rows grouped by their SKU's lead time (days)."""
    return log.groupby(log.sku_id.map(lambda sku: catalog[sku]["lead_time_days"]))


def cycle_service_by_lead_time(
    log: pd.DataFrame, catalog: dict[str, dict[str, Any]]
) -> dict[str, float]:
    """Cycle service level of the SKUs of each lead time (days)."""
    return {str(days): cycle_service_level(rows) for days, rows in by_lead_time(log, catalog)}


def guardrail_violations(run: Run, config: GuardrailConfig | None = None) -> int:
    """Price and promo decisions that break a catalog bound, the margin floor or the max step."""
    config = config or GuardrailConfig()
    violations = 0
    for d in run.decisions.get("price-adjustments", []):
        c = run.catalog[d["sku_id"]]
        floor = max(c["min_price"], d["unit_cost"] * (1 + config.min_margin))
        if d["new_price"] < floor - 1e-9 or (
            floor <= c["max_price"] and d["new_price"] > c["max_price"] + 1e-9
        ):
            violations += 1
        hard = d["binding_rule"] in ("ceiling", "floor", "margin_floor", "map")
        if (
            not hard
            and abs(d["new_price"] - d["current_price"])
            > config.max_step * d["current_price"] + 0.006
        ):
            violations += 1
    for p in run.decisions.get("promo-adjustments", []):
        c = run.catalog[p["sku_id"]]
        if (
            p["action"] != "stop"
            and p["promo_price"]
            < max(c["min_price"], c["unit_cost"] * (1 + config.min_margin)) - 1e-9
        ):
            violations += 1
    return violations
