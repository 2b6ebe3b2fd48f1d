"""What promotions are worth in the overstock market, against the list price's markdown alone.

Per seed, three runs of `realtime-mkt backtest --scenario overstock` (no restock baselines): the
engine, the engine with promotions off (overstock left to the markdown), and static list prices.
Each prints gross profit, carrying cost at `backtest.CARRYING_RATE`, the two's difference and
the stock at cost on the last day; then the engine's margin over the markdown alone, net of
carrying cost.

    .ci/venv python benchmarks/promotions.py --seeds 7 11 13 [--days 120] [--skus 30]
"""

from __future__ import annotations

import argparse

import pandas as pd

from realtime_mkt.backtest import carrying_cost, run_backtest, stock_value_end

VARIANTS = {  # name: run_backtest keywords
    "engine": {},
    "no promotions": {"promotions": False},
    "static prices": {"dynamic": False},
}


def figures(seed: int, days: int, skus: int, **variant: bool) -> dict[str, float]:
    """Gross profit, carrying cost, their difference and the last day's stock of one run."""
    run = run_backtest("overstock", days, skus, seed, progress=False, **variant)
    log = pd.DataFrame(run.market.log)
    gross, carrying = float(log.profit.sum()), carrying_cost(log)
    promotions = sum(p["action"] == "start" for p in run.decisions.get("promo-adjustments", []))
    return {
        "gross profit": round(gross),
        "carrying cost": round(carrying),
        "gross - carrying": round(gross - carrying),
        "stock at cost, last day": round(stock_value_end(log)),
        "promotions started": promotions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--skus", type=int, default=30)
    args = parser.parse_args()
    rows, margins = [], []
    for seed in args.seeds:
        by_variant = {
            name: figures(seed, args.days, args.skus, **variant)
            for name, variant in VARIANTS.items()
        }
        rows += [{"seed": seed, "run": name, **f} for name, f in by_variant.items()]
        net = {name: f["gross - carrying"] for name, f in by_variant.items()}
        margins.append(net["engine"] - net["no promotions"])
        print(f"seed {seed}: promotions, net of carrying cost: {margins[-1]:+,}", flush=True)
    print(pd.DataFrame(rows).to_string(index=False))
    print(
        f"promotions against the markdown alone, per seed: {margins}; mean {sum(margins) / len(margins):+,.0f}"
    )


if __name__ == "__main__":
    main()
