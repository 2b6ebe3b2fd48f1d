"""Backtests over the simulator: the report is complete, honest and reproducible."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from realtime_mkt.backtest import (
    KnownBaselineEngine,
    Run,
    _Driver,
    cycle_counts,
    cycle_service_by_lead_time,
    evaluate,
    run_backtest,
    run_restock_baselines,
    service_frontier,
    stock_at_service,
)
from realtime_mkt.engine import EngineConfig, SkuEngine
from realtime_mkt.models.daily_demand import ClosedDay, day_of
from realtime_mkt.policies.pricing import PricingConfig
from realtime_mkt.report import write_report
from realtime_mkt.sim.market import SCENARIOS, START, WEEKDAY, Market, optimum_price
from tests.helpers import assert_valid, order

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "profit_vs_clairvoyant", "profit_lift_vs_static", "cycle_service_level", "fill_rate", "avg_on_hand",
    "carrying_cost", "stock_value_end", "guardrail_violations", "ctr_logloss", "ctr_logloss_baseline", "ctr_calibration", "forecast_mase",
    "forecast_pi90_coverage", "reco_mae", "reco_rmse",
}  # fmt: skip


@pytest.fixture(scope="module")
def steady():
    run = run_backtest("steady", days=50, n_skus=8, seed=3, progress=False)
    static = run_backtest("steady", days=50, n_skus=8, seed=3, dynamic=False, progress=False)
    tuned = run_restock_baselines("steady", days=50, n_skus=8, seed=3, progress=False)
    return run, static, evaluate(run, static, tuned)


def test_report_holds_every_figure_and_its_files(steady, tmp_path):
    run, _, figures = steady
    assert set(figures) >= REQUIRED
    context = {"scenario": "steady", "days": 50, "skus": 8, "seed": 3, "command": "test"}
    write_report(tmp_path, run, figures, context)
    assert json.loads((tmp_path / "report.json").read_text())["figures"] == figures
    assert "| guardrail violations | 0 |" in (tmp_path / "report.md").read_text()
    for plot in ("prices.png", "stock.png", "forecast.png", "ctr_calibration.png"):
        assert (tmp_path / plot).stat().st_size > 10_000
    lead_times = {str(c["lead_time_days"]) for c in run.catalog.values()}
    assert set(figures["cycle_service_level_by_lead_time"]) == lead_times
    assert "Cycle service level by lead time" in (tmp_path / "report.md").read_text()


def test_cycle_service_level_is_counted_per_receipt_and_per_lead_time():
    log = pd.DataFrame(
        # sku a (2 days): its second cycle sells out; sku b (7 days): one clean cycle
        [("a", 0, 1, 5, 5), ("a", 1, 0, 9, 4), ("a", 2, 1, 5, 5), ("a", 3, 1, 5, 5),
         ("b", 0, 1, 5, 5), ("b", 1, 0, 5, 5)],
        columns=["sku_id", "day", "received", "demand", "sold"],
    )  # fmt: skip
    catalog = {"a": {"lead_time_days": 2}, "b": {"lead_time_days": 7}}
    assert cycle_service_by_lead_time(log, catalog) == {
        "2": 0.6667,
        "7": 1.0,
    }  # 2 of 3 cycles; 1 of 1
    assert cycle_counts(log) == (4, 1)  # a's three and b's one; a's second stocked out


def test_the_restock_baseline_is_read_at_the_engines_service(steady):
    _, _, figures = steady
    frontier = figures["restock_baseline_frontier"]
    assert [p["target"] for p in frontier] == [0.95, 0.9, 0.975, 0.99]
    assert frontier[0]["avg_on_hand"] == figures["avg_on_hand_baseline"]
    equal = figures["avg_on_hand_baseline_equal_service"]
    assert equal == stock_at_service(frontier, figures["cycle_service_level"])
    if equal is not None:
        stocks = [p["avg_on_hand"] for p in frontier]
        assert min(stocks) <= equal <= max(stocks)


def test_a_higher_target_buys_the_static_baseline_service_with_stock():
    low, high = (
        run_backtest("steady", 50, 8, 3, tuned_restock=True, progress=False, service_level=level)
        for level in (0.8, 0.99)
    )
    (low_point, high_point) = service_frontier([low, high])
    assert low_point["cycle_service_level"] < high_point["cycle_service_level"]
    assert low_point["avg_on_hand"] < high_point["avg_on_hand"]
    assert {r["service_level"] for r in high.decisions["restock-requests"]} == {0.99}


def test_stock_at_service_interpolates_between_runs_and_not_beyond():
    frontier = [
        {"cycle_service_level": 0.98, "avg_on_hand": 50.0},
        {"cycle_service_level": 0.94, "avg_on_hand": 30.0},
        {"cycle_service_level": 0.96, "avg_on_hand": 36.0},
    ]
    assert stock_at_service(frontier, 0.95) == 33.0
    assert stock_at_service(frontier, 0.97) == 43.0
    assert stock_at_service(frontier, 0.94) == 30.0
    assert stock_at_service(frontier, 0.93) is None and stock_at_service(frontier, 0.99) is None


def test_decisions_are_safe_and_the_models_beat_their_baselines(steady):
    _, _, figures = steady
    assert figures["guardrail_violations"] == 0
    assert (
        figures["decisions"]["price-adjustments"] > 0
        and figures["decisions"]["restock-requests"] > 0
    )
    assert figures["ctr_logloss"] < figures["ctr_logloss_baseline"]
    assert figures["forecast_mase"] < 1.0
    assert figures["reco_mae"] < figures["reco_mae_baseline"]
    assert 0.85 <= figures["profit_vs_clairvoyant"] <= 1.05
    assert figures["fill_rate"] > 0.9


def test_scored_forecasts_follow_the_markets_weekdays():
    # list prices: exploring prices would move the forecasts too, blurring the weekdays
    run = run_backtest("seasonal", days=60, n_skus=6, seed=4, dynamic=False, progress=False)
    forecasts = pd.DataFrame(run.forecasts)
    forecasts = forecasts[forecasts.day >= 35]  # weekday factors learn from the third week
    relative = forecasts["mean"] / forecasts.groupby("sku_id")["mean"].transform("mean")
    by_weekday = relative.groupby(forecasts.day % 7).mean().to_numpy()
    # the pattern shifted by k weekdays: forecasts indexed by the wrong day number fit a shift best
    fits = [np.corrcoef(by_weekday, np.roll(WEEKDAY, k))[0, 1] for k in range(7)]
    assert int(np.argmax(fits)) == 0 and fits[0] > 0.8


def test_the_tuned_restock_baseline_freezes_its_levels():
    run = run_backtest(
        "demand-shock", days=60, n_skus=6, seed=2, tuned_restock=True, progress=False
    )
    driver_frozen = [
        r for r in run.decisions["restock-requests"] if r["forecast"]["history_days"] > 40
    ]
    by_sku: dict[str, set] = {}
    for r in driver_frozen:
        by_sku.setdefault(r["sku_id"], set()).add((r["reorder_point"], r["order_up_to"]))
    assert by_sku and all(len(levels) == 1 for levels in by_sku.values())  # (s, S) no longer move


def test_the_static_twin_never_moves_prices(steady):
    _, static, _ = steady
    assert (
        "price-adjustments" not in static.decisions and "promo-adjustments" not in static.decisions
    )
    assert all(row["price"] == row["list_price"] for row in static.market.log)


def test_runs_are_reproducible_for_a_seed():
    first = run_backtest("competitor-war", days=20, n_skus=4, seed=11, progress=False)
    second = run_backtest("competitor-war", days=20, n_skus=4, seed=11, progress=False)
    assert first.market.log == second.market.log
    assert first.decisions == second.decisions


def documented_reason_codes() -> dict[str, set[str]]:
    """The codes `docs/reason-codes.md` explains, by decision topic."""
    codes: dict[str, set[str]] = {}
    for section in (ROOT / "docs" / "reason-codes.md").read_text().split("\n## `")[1:]:
        topic = section.split("`", 1)[0]
        codes[topic] = set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.MULTILINE))
    return codes


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_scenario_runs_without_guardrail_violations(scenario):
    run = run_backtest(scenario, days=50, n_skus=6, seed=5, progress=False)
    static = run_backtest(scenario, days=50, n_skus=6, seed=5, dynamic=False, progress=False)
    assert evaluate(run, static, [static])["guardrail_violations"] == 0
    documented = documented_reason_codes()
    for topic, decisions in run.decisions.items():
        emitted = {code for d in decisions for code in d["reason_codes"]}
        assert emitted <= documented[topic], (topic, emitted - documented[topic])
    if scenario == "new-products":
        assert {row["sku_id"] for row in run.market.log if row["day"] < 30} < {
            row["sku_id"] for row in run.market.log
        }


def test_the_pricing_bound_prices_with_the_true_response():
    run = run_backtest("steady", 30, 6, 3, known_response=True, progress=False)
    truth = {s.sku_id: s.response for s in run.market.skus}
    adjustments = run.decisions["price-adjustments"]
    assert adjustments
    for a in adjustments:
        assert a["elasticity"]["estimate"] == round(truth[a["sku_id"]], 4)
        assert a["elasticity"]["stderr"] == 0.0 and not a["exploration"]
        assert a["optimum_weight"] == 1.0


def test_the_baseline_bound_learns_responses_against_each_days_true_demand(monkeypatch):
    def true_demand(sku_id: str, closed: ClosedDay) -> float:
        """The simulator's demand at the list price, the competitor's price that day held (no
        weekdays in this market): base × (competitor / list)^cross."""
        sku = markets[-1].skus_by_id[sku_id]
        day = closed.day - day_of(START)
        row = next(r for r in markets[-1].log if r["day"] == day and r["sku_id"] == sku_id)
        return sku.base_demand * (row["competitor"] / sku.list_price) ** sku.cross

    markets: list = []
    init = Market.__init__

    def remember(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.skus_by_id = {s.sku_id: s for s in self.skus}
        markets.append(self)

    learned: list[tuple[float, float]] = []  # (what the regression learned against, the truth)
    for engine_class in (KnownBaselineEngine, SkuEngine):
        baseline = engine_class.response_baseline

        def spy(self, state, closed, baseline=baseline):
            value = baseline(self, state, closed)
            learned.append((value, true_demand(state.sku_id, closed)))
            return value

        monkeypatch.setattr(engine_class, "response_baseline", spy)
    monkeypatch.setattr(Market, "__init__", remember)

    run_backtest("competitor-war", 30, 4, 3, known_baseline=True, progress=False)
    assert len({round(r["competitor"], 6) for r in markets[-1].log}) > 4  # the competitor moved
    known, learned[:] = list(learned), []
    assert len(known) > 50
    for value, truth in known:
        assert value == pytest.approx(truth, rel=1e-9)
    # the engine's own run learns against its forecast, which is not the truth
    run_backtest("competitor-war", 30, 4, 3, progress=False)
    assert len(learned) > 50
    assert np.mean([abs(value / truth - 1) for value, truth in learned]) > 0.02


def test_each_known_sku_gets_the_days_tick_as_the_workers_timer_sends_it():
    run = Run(Market(SCENARIOS["steady"], seed=3, n_skus=3))
    driver = _Driver(run, EngineConfig(), False, False)
    for topic, value in run.market.catalog_events(0):
        driver.feed(topic, value, 0)
    quiet, busy = sorted(driver.skus)[:2]
    sale = order("d0", START + 100, [(busy, 1)])
    driver.feed("orders", sale, 0)
    assert driver.skus[busy].demand.day == day_of(START)
    assert driver.skus[quiet].demand.day is None  # a stock count opens no demand day
    driver.tick(1)
    # the day before closes for both, though neither sold on day 1
    assert {driver.skus[s].demand.day for s in (quiet, busy)} == {day_of(START) + 1}
    assert driver.skus[busy].demand.n == 1


def test_overstocked_skus_get_promotions_and_cost_less_to_hold_than_the_static_twin():
    run = run_backtest("overstock", days=30, n_skus=6, seed=5, progress=False)
    static = run_backtest("overstock", days=30, n_skus=6, seed=5, dynamic=False, progress=False)
    opened = {r["sku_id"]: r["on_hand_end"] + r["sold"] for r in run.market.log if r["day"] == 0}
    overstocked = {s.sku_id for s in run.market.skus if s.number % 3 == 1}
    for s in run.market.skus:
        days_of_stock = opened[s.sku_id] / s.base_demand
        assert days_of_stock > 149 if s.sku_id in overstocked else days_of_stock < 11
    promos = run.decisions["promo-adjustments"]
    assert {p["sku_id"] for p in promos if p["action"] == "start"} == overstocked
    for p in promos:
        assert_valid("promo-adjustments.v1", p)
    figures = evaluate(run, static, [static])
    assert figures["carrying_cost"] < figures["carrying_cost_static"]
    assert figures["stock_value_end"] < figures["stock_value_end_static"]
    ads = figures["promotion_ads"]  # the ads' own profit: their units' margin less their spend
    margin = sum(r["ad_units"] * (r["price"] - r["unit_cost"]) for r in run.market.log)
    assert ads["units"] > 0 and ads["profit"] == pytest.approx(margin - ads["spend"], abs=0.01)
    assert ads["profit"] > 0


@pytest.mark.parametrize(("scenario", "prior"), [("mispriced", 0.1), ("steady", 0.3)])
def test_pricing_learns_how_far_the_list_prices_are_from_the_optimum(scenario, prior):
    """Told the wrong spread, pricing learns the market's own from its SKUs' estimates: in 60
    days 30 SKUs, against a prior worth 10 (`list_price_error.PRIOR_SKUS`), take it a good part
    of the way (seed 5: 0.10 → 0.125 of 0.154; 0.30 → 0.178 of 0.084)."""
    run = run_backtest(
        scenario, 60, 30, 5, progress=False, pricing_config=PricingConfig(list_price_error=prior)
    )
    errors = [
        math.log(s.list_price / optimum_price(s.unit_cost, s.response)) for s in run.market.skus
    ]
    truth = math.sqrt(np.mean(np.square(errors)))
    assert abs(truth - prior) > 0.05
    learned = run.decisions["price-adjustments"][-1]["list_price_error"]
    assert abs(learned - truth) < abs(prior - truth) * 2 / 3, (learned, truth)
