"""How honest the price-response estimates' standard errors are, against the simulator's truth.

For each scenario, seed and period of a backtest it reads every SKU's last price adjustment
(the own-price response r̂, its standard error SE and the estimated optimum p̂*) and prints:

- the spread of the errors (r̂ − r)/SE over all SKUs, the RMS error against the RMS SE, and
  the least-squares slope of r̂ on r (1: the estimates follow the SKUs' differences; toward 0:
  they lean on the prior, or on something they share);
- the least-squares slope of the squared error of ln p̂* on s² = (SE/|r̂(1+r̂)|)², the spread
  pricing weighs the optimum by, over the SKUs with r̂ < −1 and s ≤ 0.4 (1: s is honest);
- what the engine could see of it: the squared 15-day revisions of r̂ over the drop in SE² over
  them (a calibrated posterior mean is a martingale: 1), next to the mean squared error in
  standard errors the truth gives (1 when calibrated);
- the slope of d² = ln(p̂*/list price)² on s² over the same SKUs (E[d²] = σ_L² + κ²s² would
  make it κ², the calibration, if the estimates' errors were independent of the list price's).

A last table gives the mean error of r̂ at the end of the run by how far the list price is
from the optimum: estimates that lean toward the list price err with opposite signs.

    .ci/venv python benchmarks/estimate_calibration.py --scenarios steady mispriced --seeds 7 11
        [--known-baseline]

`--known-baseline` learns the responses against the true expected units of each day at the
list price instead of the demand forecast (`backtest.KnownBaselineEngine`): what the
forecast's errors cost the estimates.

`--regression-alone` instead simulates the price-response regression and the pricing rule
without the rest of the engine (one SKU, Poisson sales at a known level, no stock, 120 days):
the errors in standard errors with and without forgetting, at ±5 % around a list price at the
optimum; and the mean error at the end when pricing moves from a list price 23 % under, at or
30 % over the optimum (priced by `target_price`, σ_L 0.15), and
that error apart for the runs still exploring at the end and the others.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from backtest_seeds import add_run_arguments

from realtime_mkt.backtest import run_backtest
from realtime_mkt.engine import EngineConfig
from realtime_mkt.events import parse_time
from realtime_mkt.models.daily_demand import day_of
from realtime_mkt.models.elasticity import PRIOR_ELASTICITY, LogLogElasticity
from realtime_mkt.policies.list_price_error import Anchor
from realtime_mkt.policies.optimum import optimum_price, optimum_spread
from realtime_mkt.policies.pricing import MarketView, PricingConfig, target_price

REVISION_DAYS = 15
MAX_SPREAD = 0.4
LIST_GROUPS = ((-1.0, -0.1), (-0.1, 0.1), (0.1, 1.0))  # ln(list price / optimum)


def slope(x: list[float], y: list[float]) -> float:
    """The least-squares slope of y on x through the origin (y ∝ x when s is honest)."""
    return float(np.dot(x, y) / np.dot(x, x)) if x else math.nan


def calibration(
    scenario: str, seed: int, days: int, skus: int, period: int, known_baseline: bool = False
) -> tuple[list[list], list[list[float]]]:
    """Rows of the period table and of the list-price table for one run."""
    run = run_backtest(scenario, days, skus, seed, progress=False, known_baseline=known_baseline)
    truth = {s.sku_id: s for s in run.market.skus}
    true_optimum = {
        s.sku_id: math.log(optimum_price(s.unit_cost, s.response)) for s in truth.values()
    }
    series: dict[str, list[tuple[int, dict]]] = {}
    first = None
    for decision in run.decisions["price-adjustments"]:
        day = day_of(parse_time(decision["occurred_at"]))
        first = day if first is None else first
        series.setdefault(decision["sku_id"], []).append((day - first, decision))

    def last(sku_id: str, day: int) -> dict | None:
        before = [d for t, d in series[sku_id] if t <= day]
        return before[-1] if before else None

    rows = []
    for start in range(0, days, period):
        end = min(start + period, days) - 1
        z, errors, stderrs, s2, e2, d2, responses = [], [], [], [], [], [], []
        for sku_id in series:
            decision = last(sku_id, end)
            if decision is None:
                continue
            r = truth[sku_id].response
            estimate, stderr = decision["elasticity"]["estimate"], decision["elasticity"]["stderr"]
            z.append((estimate - r) / stderr)
            errors.append(estimate - r)
            responses.append(r)
            stderrs.append(stderr)
            if estimate < -1.0 and optimum_spread(estimate, stderr) <= MAX_SPREAD:
                log_optimum = math.log(decision["optimum_price"])
                s2.append(optimum_spread(estimate, stderr) ** 2)
                e2.append((log_optimum - true_optimum[sku_id]) ** 2)
                d2.append((log_optimum - math.log(truth[sku_id].list_price)) ** 2)
        revised = dropped = truth_z2 = pairs = 0.0
        for sku_id in series:
            for t in range(start, end + 2 - REVISION_DAYS, REVISION_DAYS):
                a, b = last(sku_id, t), last(sku_id, t + REVISION_DAYS)
                if a is None or b is None:
                    continue
                before, after = a["elasticity"], b["elasticity"]
                revised += (before["estimate"] - after["estimate"]) ** 2
                dropped += before["stderr"] ** 2 - after["stderr"] ** 2
                truth_z2 += ((before["estimate"] - truth[sku_id].response) / before["stderr"]) ** 2
                pairs += 1
        rows.append([
            f"{start}–{end + 1}", len(z), float(np.std(z)),
            math.sqrt(np.mean(np.square(errors))), math.sqrt(np.mean(np.square(stderrs))),
            float(np.polyfit(responses, np.add(responses, errors), 1)[0]),
            slope(s2, e2), revised / dropped if dropped > 0 else math.nan,
            truth_z2 / pairs if pairs else math.nan,
            float(np.polyfit(s2, d2, 1)[0]) if len(s2) > 1 else math.nan,
        ])  # fmt: skip
    groups: list[list[float]] = [[] for _ in LIST_GROUPS]
    for sku_id in series:
        decision = last(sku_id, days)
        list_error = math.log(truth[sku_id].list_price) - true_optimum[sku_id]
        for index, (low, high) in enumerate(LIST_GROUPS):
            if low <= list_error < high:
                groups[index].append(decision["elasticity"]["estimate"] - truth[sku_id].response)
    return rows, groups


def alone(
    seed: int, truth: float, list_vs_optimum: float, forgetting: float, priced: bool
) -> tuple[float, float, bool]:
    """(error, error / SE, still exploring over the last 20 days) of the response after 120
    days of one simulated SKU: priced by `pricing.target_price` from a list price
    `list_vs_optimum` × the optimum, with σ_L 0.15 and no stock to weigh (`priced`), or held
    at ±5 % around it on alternate two-day blocks; 30 units a day at the list price, unit
    cost 10."""
    rng = np.random.default_rng(seed)
    list_price = optimum_price(10.0, truth) * list_vs_optimum
    model, explored, price = LogLogElasticity(), -1, list_price
    for day in range(120):
        estimate, stderr, _ = model.own_price_response()
        if priced:
            view = MarketView(
                price,
                Anchor(list_price, 0.15, 1.0, 0.15),
                10.0,
                estimate,
                stderr,
                stderr,
                0.0,
                0,
                0.0,
                day,
                *model.price_spread(),
            )
            target = target_price(f"sku-{seed}", view, PricingConfig())
            price, exploring = target.price, target.exploration
        else:
            price, exploring = list_price * (1.05 if (day // 2) % 2 else 0.95), True
        if exploring:
            explored = day
        units = rng.poisson(30.0 * (price / list_price) ** truth)
        model.learn(price, units, None, 30.0, forgetting)
    estimate, stderr, _ = model.own_price_response()
    return estimate - truth, (estimate - truth) / stderr, explored >= 100


def print_regression_alone(runs: int = 200) -> None:
    """The two tables of `--regression-alone` (module docstring)."""
    print("| forgetting | mean SE | errors' spread | errors in SEs |\n|---|---|---|---|")
    for forgetting in (1.0, EngineConfig().elasticity_forgetting):
        fits = [alone(s, PRIOR_ELASTICITY, 1.0, forgetting, priced=False) for s in range(runs)]
        errors = np.array([e for e, _, _ in fits])
        stderrs = errors / np.array([z for _, z, _ in fits])
        print(
            f"| {forgetting} | {stderrs.mean():.3f} | {errors.std():.3f} | {np.std(errors / stderrs):.2f} |"
        )
    multiples = (0.77, 1.0, 1.3)
    print("\n| truth | " + " | ".join(f"list {m} × optimum" for m in multiples) + " |")
    print("|---" * (len(multiples) + 1) + "|")
    split, forgetting = [], EngineConfig().elasticity_forgetting
    for truth in (-3.0, PRIOR_ELASTICITY, -2.3):
        cells = []
        for multiple in multiples:
            fits = [alone(s, truth, multiple, forgetting, priced=True) for s in range(runs)]
            errors = np.array([e for e, _, _ in fits])
            exploring = np.array([going for _, _, going in fits])
            cells.append(f"{errors.mean():+.3f} ± {errors.std() / math.sqrt(runs):.3f}")
            split.append((truth, multiple, errors, exploring))
        print(f"| {truth} | " + " | ".join(cells) + " |")
    print("\n| truth | list × optimum | share still exploring | their error | the others' error |")
    print("|---|---|---|---|---|")
    for truth, multiple, errors, exploring in split:
        going, stopped = errors[exploring], errors[~exploring]
        cells = [f"{g.mean():+.3f}" if len(g) else "—" for g in (going, stopped)]
        print(f"| {truth} | {multiple} | {exploring.mean():.0%} | " + " | ".join(cells) + " |")


COLUMNS = [
    "SKUs", "error / SE sd", "RMS error", "RMS SE", "r̂ on r slope", "error² of ln p̂* / s²",
    "revision² / SE² drop", "truth: (error / SE)²", "d² on s² slope",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument("--period", type=int, default=30)
    parser.add_argument("--regression-alone", action="store_true")
    parser.add_argument("--known-baseline", action="store_true")
    args = parser.parse_args()
    if args.regression_alone:
        print_regression_alone()
        return
    print("| scenario | seed | days | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    leans = []
    for scenario in args.scenarios:
        for seed in args.seeds:
            rows, groups = calibration(
                scenario, seed, args.days, args.skus, args.period, args.known_baseline
            )
            for days, count, *figures in rows:
                cells = [f"{f:.2f}" for f in figures]
                print(f"| {scenario} | {seed} | {days} | {count} | " + " | ".join(cells) + " |")
            leans.append((scenario, seed, groups))
    print("\nMean error of r̂ at the end (SKUs), by ln(list price / optimum):\n")
    print(
        "| scenario | seed | "
        + " | ".join(f"{lo:+.1f} … {hi:+.1f}" for lo, hi in LIST_GROUPS)
        + " |"
    )
    print("|---" * (len(LIST_GROUPS) + 2) + "|")
    for scenario in args.scenarios:
        runs = [(str(seed), groups) for name, seed, groups in leans if name == scenario]
        pooled = [[e for _, groups in runs for e in groups[i]] for i in range(len(LIST_GROUPS))]
        for seed, groups in [*runs, ("all", pooled)]:
            cells = [f"{np.mean(g):+.2f} ({len(g)})" if g else "—" for g in groups]
            print(f"| {scenario} | {seed} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
