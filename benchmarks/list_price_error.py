"""How pricing's learned list-price error compares with the truth, period by period.

For each 30-day period of a backtest it takes every SKU's last price adjustment (which carries
the estimated optimum p̂*, the own-price response and its standard error) and prints, over
the SKUs whose estimate was informative enough to take part (s ≤ MAX_SPREAD): the RMS of d = ln(p̂*/list price) and of s = SE/|r(1+r)| (the two moments
`policies/list_price_error.py` could use), the RMS error of ln p̂* against the simulator's true
optimum and of the list price's own error, their mean product, the spread of the response's
errors in standard errors, and the σ_L pricing used at the period's end.

    .ci/venv python benchmarks/list_price_error.py --scenarios mispriced steady --seed 7
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from realtime_mkt.backtest import run_backtest
from realtime_mkt.events import parse_time
from realtime_mkt.models.daily_demand import day_of
from realtime_mkt.policies.list_price_error import MAX_SPREAD
from realtime_mkt.policies.optimum import optimum_spread
from realtime_mkt.sim.market import SCENARIOS, optimum_price

COLUMNS = ["SKUs", "RMS d", "RMS s", "RMS error", "RMS list error", "mean error × list error", "error / SE sd", "σ_L used"]  # fmt: skip


def period_rows(scenario: str, seed: int, days: int, skus: int, period: int) -> list[list]:
    """One row of COLUMNS per `period` days of the run."""
    run = run_backtest(scenario, days, skus, seed, progress=False)
    truth = {s.sku_id: s for s in run.market.skus}
    first_day = None
    last: dict[int, dict[str, dict]] = {}
    for decision in run.decisions["price-adjustments"]:
        day = day_of(parse_time(decision["occurred_at"]))
        first_day = day if first_day is None else first_day
        last.setdefault((day - first_day) // period, {})[decision["sku_id"]] = decision
    rows = []
    for index in sorted(last):
        values = []
        for sku_id, decision in last[index].items():
            response, stderr = decision["elasticity"]["estimate"], decision["elasticity"]["stderr"]
            if response >= -1.0 or optimum_spread(response, stderr) > MAX_SPREAD:
                continue
            sku = truth[sku_id]
            true_response = sku.response
            log_list = math.log(sku.list_price)
            true_optimum = math.log(optimum_price(sku.unit_cost, true_response))
            estimated = math.log(decision["optimum_price"])
            values.append(
                (
                    estimated - log_list,
                    optimum_spread(response, stderr),
                    estimated - true_optimum,
                    true_optimum - log_list,
                    (response - true_response) / stderr if stderr > 0 else 0.0,
                )
            )
        a = np.array(values)
        rms = np.sqrt((a[:, :4] ** 2).mean(axis=0))
        used = max(last[index].values(), key=lambda d: d["occurred_at"])["list_price_error"]
        rows.append(
            [f"{index * period}–{(index + 1) * period}", len(a), *rms,
             float(np.mean(a[:, 2] * a[:, 3])), float(np.std(a[:, 4])), used]
        )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["mispriced", "steady"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--skus", type=int, default=30)
    parser.add_argument("--period", type=int, default=30)
    args = parser.parse_args()
    print("| scenario | days | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for scenario in args.scenarios:
        assert scenario in SCENARIOS, scenario
        for days, count, *figures in period_rows(
            scenario, args.seed, args.days, args.skus, args.period
        ):
            cells = [f"{f:.4f}" for f in figures]
            print(f"| {scenario} | {days} | {count} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
