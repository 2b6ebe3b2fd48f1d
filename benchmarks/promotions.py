"""What promotions are worth in the overstock market, and what aiming them at the preference
model's audience is worth against aiming them at random users.

Per seed, four runs of `realtime-mkt backtest --scenario overstock` (no restock baselines): the
engine, the engine with its promotions aimed at random users (`targeting="random"`), the engine
with promotions off (overstock left to the markdown), and static list prices. Each prints gross
profit (ad spend taken off), carrying cost at `backtest.CARRYING_RATE`, the two's difference, the
stock at cost on the last day, and what the promotions' ads did (their profit: the margin of the
units they sold less their spend); then the engine's margin over the markdown alone and over
random targeting, net of carrying cost, and the ads' own profit with either audience. The
whole market's profit moves by more than the ads earn when one promotion starts a day sooner,
so the ads' own profit is what tells the audiences apart.

    .ci/venv python benchmarks/promotions.py --seeds 7 11 13 [--days 120] [--skus 30]
"""

from __future__ import annotations

import argparse

import pandas as pd

from realtime_mkt.backtest import carrying_cost, promotion_ads, run_backtest, stock_value_end

VARIANTS = {  # name: run_backtest keywords
    "engine": {},
    "random audience": {"targeting": "random"},
    "no promotions": {"promotions": False},
    "static prices": {"dynamic": False},
}


def figures(seed: int, days: int, skus: int, **variant: bool | str) -> dict[str, float]:
    """Gross profit, carrying cost, their difference, the last day's stock and the ads of a run."""
    run = run_backtest("overstock", days, skus, seed, progress=False, **variant)
    log = pd.DataFrame(run.market.log)
    gross, carrying = float(log.profit.sum()), carrying_cost(log)
    promotions = sum(p["action"] == "start" for p in run.decisions.get("promo-adjustments", []))
    ads = promotion_ads(log)
    return {
        "gross profit": round(gross),
        "carrying cost": round(carrying),
        "gross - carrying": round(gross - carrying),
        "stock at cost, last day": round(stock_value_end(log)),
        "promotions started": promotions,
        "ad impressions": ads["impressions"],
        "ad CTR": ads["ctr"],
        "ad units": ads["units"],
        "ad spend": round(ads["spend"]),
        "ad profit": round(ads["profit"]),
        "ad units per 1,000 impressions": round(
            1000 * ads["units"] / max(ads["impressions"], 1), 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 13])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--skus", type=int, default=30)
    args = parser.parse_args()
    rows, margins = [], {"no promotions": [], "random audience": []}
    ad_profits: dict[str, list[int]] = {"engine": [], "random audience": []}
    for seed in args.seeds:
        by_variant = {
            name: figures(seed, args.days, args.skus, **variant)
            for name, variant in VARIANTS.items()
        }
        rows += [{"seed": seed, "run": name, **f} for name, f in by_variant.items()]
        net = {name: f["gross - carrying"] for name, f in by_variant.items()}
        for against, kept in margins.items():
            kept.append(net["engine"] - net[against])
        for name, kept in ad_profits.items():
            kept.append(by_variant[name]["ad profit"])
        print(
            f"seed {seed}: engine net of carrying cost against "
            + ", ".join(f"{name} {kept[-1]:+,}" for name, kept in margins.items()),
            flush=True,
        )
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
    for against, kept in margins.items():
        print(f"engine against {against}, per seed: {kept}; mean {sum(kept) / len(kept):+,.0f}")
    aimed, chance = (sum(kept) for kept in ad_profits.values())
    print(
        f"the ads' own profit, model audience / random audience: {aimed:,} / {chance:,} "
        f"({aimed / max(chance, 1):.2f}x; per seed {ad_profits['engine']} / "
        f"{ad_profits['random audience']})"
    )


if __name__ == "__main__":
    main()
