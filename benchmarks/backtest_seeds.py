"""Backtest figures over several seeds, for comparing two versions of the engine.

One seed's run is noisy: the market's draws follow stock and prices, so two versions diverge
after their first different decision and profit / clairvoyant moves by a point or more between
seeds. This runs the engine (no baselines) on each scenario and seed and prints the figures per
seed and their mean; run it in two checkouts to compare them.

    .ci/venv python benchmarks/backtest_seeds.py --seeds 7 11 13
"""

from __future__ import annotations

import argparse

import pandas as pd

from realtime_mkt.backtest import cycle_service_by_lead_time, cycle_service_level, run_backtest
from realtime_mkt.sim.market import SCENARIOS

COLUMNS = ["profit/clairvoyant", "CSL", "CSL worst lead time", "CSL best lead time", "on hand", "fill rate"]  # fmt: skip


def figures(scenario: str, seed: int, days: int, skus: int) -> list[float]:
    """The engine's figures for one run."""
    run = run_backtest(scenario, days, skus, seed, progress=False)
    log = pd.DataFrame(run.market.log)
    by_lead_time = cycle_service_by_lead_time(log, run.catalog).values()
    return [
        log.profit.sum() / log.clairvoyant_profit.sum(),
        cycle_service_level(log),
        min(by_lead_time),
        max(by_lead_time),
        log.on_hand_end.clip(lower=0).mean(),
        log.sold.sum() / log.demand.sum(),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[7, 11, 13])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--skus", type=int, default=30)
    args = parser.parse_args()
    print("| scenario | seed | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for scenario in args.scenarios:
        rows = []
        for seed in args.seeds:
            rows.append(figures(scenario, seed, args.days, args.skus))
            print_row(scenario, str(seed), rows[-1])
        print_row(scenario, "mean", [sum(column) / len(rows) for column in zip(*rows, strict=True)])


def print_row(scenario: str, seed: str, values: list[float]) -> None:
    print(f"| {scenario} | {seed} | " + " | ".join(f"{v:.4g}" for v in values) + " |", flush=True)


if __name__ == "__main__":
    main()
