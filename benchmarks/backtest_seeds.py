"""Backtest figures over several seeds, for comparing two versions of the engine.

A market's seed draws its SKUs, and profit / clairvoyant moves by a point or more between
seeds for the same code. On one seed two versions meet the same shoppers (the simulator draws
common random numbers), so compare them seed by seed, over several seeds. This runs the engine
(no baselines) on each scenario and seed and prints the figures per seed and their mean; run it
in two checkouts to compare them. `--equal-service` adds the static (s, S) restock baseline: its
cycle service level when asked for 95 %, and the stock it would hold at the engine's service
level (four more runs per seed). `--pricing-bounds` adds profit / clairvoyant with static list
prices (the floor pricing must beat) and with pricing told each SKU's true price response (what
learning it could be worth at most), and with the response learned against the true expected
units instead of the demand forecast (`backtest.KnownBaselineEngine`: what the forecast's errors
cost pricing); three more runs per seed. `--cycles` adds a second table: per
scenario, seed and lead time, the replenishment cycles and how many stocked out (their sum over
the seeds too), to tell a change in a lead time's service from a stock-out or two.
`--list-price-error` sets how far pricing assumes list prices are from the optimum before its
SKUs tell (the prior, `PricingConfig.list_price_error`).

    .ci/venv python benchmarks/backtest_seeds.py --seeds 7 11 13 [--equal-service] [--pricing-bounds]
        [--cycles] [--list-price-error 0.1]
"""

from __future__ import annotations

import argparse

import pandas as pd

from realtime_mkt.backtest import (
    Run,
    average_on_hand,
    by_lead_time,
    cycle_counts,
    cycle_service_level,
    fill_rate,
    run_backtest,
    run_restock_baselines,
    service_frontier,
    service_share,
    stock_at_service,
)
from realtime_mkt.policies.pricing import PricingConfig
from realtime_mkt.sim.market import SCENARIOS

COLUMNS = ["profit/clairvoyant", "CSL", "CSL worst lead time", "CSL best lead time", "on hand", "fill rate"]  # fmt: skip
BASELINE_COLUMNS = ["static (s,S) CSL", "static (s,S) on hand at our CSL"]
BOUND_COLUMNS = ["profit/clairvoyant, list prices", "profit/clairvoyant, known response", "profit/clairvoyant, known baseline"]  # fmt: skip


def profit_ratio(run: Run) -> float:
    """Profit over the clairvoyant's."""
    log = pd.DataFrame(run.market.log)
    return log.profit.sum() / log.clairvoyant_profit.sum()


def figures(
    scenario: str,
    seed: int,
    days: int,
    skus: int,
    equal_service: bool,
    pricing_bounds: bool,
    pricing: PricingConfig,
) -> tuple[list[float | None], dict[int, tuple[int, int]]]:
    """The engine's figures for one run (and its restock baseline's, with `equal_service`; None
    where the baseline's runs do not bracket the engine's service; and its pricing's bounds,
    with `pricing_bounds`), and its cycles and stock-outs per lead time."""
    run = run_backtest(scenario, days, skus, seed, progress=False, pricing_config=pricing)
    log = pd.DataFrame(run.market.log)
    counts = {lead_time: cycle_counts(rows) for lead_time, rows in by_lead_time(log, run.catalog)}
    service_by_lead_time = [service_share(*count) for count in counts.values()]
    row = [
        profit_ratio(run),
        cycle_service_level(log),
        min(service_by_lead_time),
        max(service_by_lead_time),
        average_on_hand(log),
        fill_rate(log),
    ]
    if equal_service:
        frontier = service_frontier(run_restock_baselines(scenario, days, skus, seed, False))
        row += [frontier[0]["cycle_service_level"], stock_at_service(frontier, row[1])]
    if pricing_bounds:
        static = run_backtest(scenario, days, skus, seed, dynamic=False, progress=False)
        known = run_backtest(scenario, days, skus, seed, known_response=True, progress=False)
        baseline = run_backtest(scenario, days, skus, seed, known_baseline=True, progress=False)
        row += [profit_ratio(static), profit_ratio(known), profit_ratio(baseline)]
    return row, counts


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The backtest runs to make: scenarios, seeds, days and SKUs (the reports' defaults)."""
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[7, 11, 13])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--skus", type=int, default=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument("--equal-service", action="store_true")
    parser.add_argument("--pricing-bounds", action="store_true")
    parser.add_argument("--cycles", action="store_true")
    parser.add_argument("--list-price-error", type=float, default=PricingConfig().list_price_error)
    args = parser.parse_args()
    pricing = PricingConfig(list_price_error=args.list_price_error)
    columns = COLUMNS + BASELINE_COLUMNS * args.equal_service + BOUND_COLUMNS * args.pricing_bounds
    print("| scenario | seed | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    cycles: dict[tuple[str, str, int], tuple[int, int]] = {}
    for scenario in args.scenarios:
        rows = []
        for seed in args.seeds:
            row, counts = figures(
                scenario,
                seed,
                args.days,
                args.skus,
                args.equal_service,
                args.pricing_bounds,
                pricing,
            )
            rows.append(row)
            for lead_time, count in counts.items():
                cycles[scenario, str(seed), lead_time] = count
            print_row(scenario, str(seed), row)
        print_row(scenario, "mean", [mean(column) for column in zip(*rows, strict=True)])
    if args.cycles:
        print_cycles(cycles)


def print_cycles(cycles: dict[tuple[str, str, int], tuple[int, int]]) -> None:
    """Cycles and stock-outs per scenario, seed and lead time, and summed over the seeds."""
    totals: dict[tuple[str, str, int], tuple[int, int]] = {}
    for (scenario, _, lead_time), (count, stocked_out) in cycles.items():
        total = totals.get((scenario, "all", lead_time), (0, 0))
        totals[scenario, "all", lead_time] = (total[0] + count, total[1] + stocked_out)
    print("\n| scenario | seed | lead time (days) | cycles | stocked out | cycle service |")
    print("|---|---|---|---|---|---|")
    for (scenario, seed, lead_time), (count, stocked_out) in {**cycles, **totals}.items():
        service = service_share(count, stocked_out)
        print(f"| {scenario} | {seed} | {lead_time} | {count} | {stocked_out} | {service:.4f} |")


def mean(values: tuple[float | None, ...]) -> float | None:
    """The mean of the values there are (a baseline's stock at our service may be missing)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def print_row(scenario: str, seed: str, values: list[float | None]) -> None:
    cells = ["n/a" if v is None else f"{v:.4g}" for v in values]
    print(f"| {scenario} | {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
