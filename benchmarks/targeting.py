"""How well promotions are aimed: the true ad click-through rate of the preference model's
audience for each SKU, against random users and the users the simulator knows are keenest.

Per scenario and seed, one backtest of `--days` days; then, for every SKU, the mean true CTR (ad
slot 2) of the 100 users `UserEngine.audience` picks, of 100 drawn at random
(`backtest.random_audience`) and of the best 100 (`backtest.audience_click_rates`).

    .ci/venv python benchmarks/targeting.py --scenarios steady new-products competitor-war --seeds 7 11 13 [--days 60]
"""

from __future__ import annotations

import argparse

import pandas as pd

from realtime_mkt.backtest import audience_click_rates, run_backtest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios", nargs="+", default=["steady", "new-products", "competitor-war"]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--skus", type=int, default=30)
    args = parser.parse_args()
    rows = []
    for scenario in args.scenarios:
        for seed in args.seeds:
            run = run_backtest(scenario, args.days, args.skus, seed, progress=False)
            rates = audience_click_rates(run)
            rows.append({"scenario": scenario, "seed": seed, **rates,
                         "model / random": round(rates["model"] / rates["random"], 2),
                         "model / best": round(rates["model"] / rates["best"], 2)})  # fmt: skip
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    print("mean:", table.drop(columns=["scenario", "seed"]).mean().round(4).to_dict())


if __name__ == "__main__":
    main()
