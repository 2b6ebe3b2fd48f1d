"""Where a backtest's profit goes: pricing against sales lost to stock-outs.

For each scenario and seed it runs the engine and divides three sums over the market's log by
the clairvoyant's profit (the true optimum price, no stock limit, expected demand):

- profit: what the engine earned;
- demand as drawn, none lost: units demanded (not only sold) at the engine's prices;
- expected demand at our prices: the market's expected units at the engine's prices, which
  measures the prices alone (no demand noise, no stock-outs).

It also prints the share of units demanded that were lost in a window of days (by default 45–60,
the 15 days after the demand shock's jump).

    .ci/venv python benchmarks/profit_decomposition.py --scenarios demand-shock steady --seeds 7 11 13
"""

from __future__ import annotations

import argparse

import pandas as pd
from backtest_seeds import add_run_arguments

from realtime_mkt.backtest import run_backtest


def decomposition(scenario: str, seed: int, days: int, skus: int, window: range) -> list[float]:
    """Profit, demand as drawn and expected demand at our prices over clairvoyant, and the share
    of units lost within `window`."""
    log = pd.DataFrame(run_backtest(scenario, days, skus, seed, progress=False).market.log)
    margin = log.price - log.unit_cost
    clairvoyant = log.clairvoyant_profit.sum()
    in_window = log[log.day.isin(window)]
    return [
        log.profit.sum() / clairvoyant,
        (log.demand * margin).sum() / clairvoyant,
        (log["mean"] * margin).sum() / clairvoyant,
        1.0 - in_window.sold.sum() / in_window.demand.sum(),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_arguments(parser)
    parser.add_argument("--window", nargs=2, type=int, default=[45, 60], metavar=("FROM", "TO"))
    args = parser.parse_args()
    window = range(*args.window)
    print(
        "| scenario | seed | profit | demand as drawn, none lost | expected demand at our prices "
        f"| units lost, days {window.start}–{window.stop} |"
    )
    print("|---|---|---|---|---|---|")
    for scenario in args.scenarios:
        for seed in args.seeds:
            row = decomposition(scenario, seed, args.days, args.skus, window)
            cells = [f"{v:.4f}" for v in row[:3]] + [f"{row[3]:.1%}"]
            print(f"| {scenario} | {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
