"""What the categories' yearly season is worth to restocking: the holidays market over two
years, the engine with and without it (`run_backtest(..., yearly_season=False)`).

The market's demand follows a calendar (`sim.market.HOLIDAY_WEEKS`: Black Friday's week 2.5×,
the weeks before Christmas 1.5–2.2×, felt by each category as far as `HOLIDAY_SHARE` says; the
garden's spring 1.7×). The first year teaches the categories their weeks; the figures are the
second year's, for its holiday weeks (ISO 47–52) and for the whole year: forecast error
against the demand that came (and its 90 % intervals' coverage), lost units, fill rate, cycle
service, stock and profit.

    .ci/venv python benchmarks/yearly_season.py --seeds 7 11 [--days 730] [--skus 30] [--arms on]
        [--known-baseline]

`--arms on` runs the engine as it is only (season on), to compare two checkouts seed by seed.
`--known-baseline` learns the price responses against each day's true demand instead of the
forecast (`run_backtest(known_baseline=True)`): what the forecast's errors cost.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from realtime_mkt.backtest import cycle_service_level, run_backtest
from realtime_mkt.models.daily_demand import day_of
from realtime_mkt.models.yearly_season import iso_week
from realtime_mkt.sim.market import DAY, HOLIDAY_WEEKS, START


def calendar(days: int) -> pd.DataFrame:
    """Each market day's ISO year and week."""
    weeks = [iso_week(day_of(START + d * DAY)) for d in range(days)]
    return pd.DataFrame({"day": range(days), "year": [year for year, _ in weeks],
                         "week": [week for _, week in weeks]})  # fmt: skip


def figures(log: pd.DataFrame, forecasts: pd.DataFrame) -> dict[str, float]:
    """Forecast error and interval coverage, lost units, fill rate, cycle service, stock and
    profit of `log`'s days."""
    scored = forecasts.merge(log[["day", "sku_id", "demand"]], on=["day", "sku_id"])
    return {
        "forecast MAE": round(float((scored["mean"] - scored.demand).abs().mean()), 3),
        "forecast bias": round(float((scored["mean"] - scored.demand).mean()), 3),
        "90 % interval coverage": round(
            float(((scored["mean"] - scored.demand).abs() <= 1.645 * scored["std"]).mean()), 4
        ),
        "lost units": int((log.demand - log.sold).sum()),
        "fill rate": round(float(log.sold.sum() / log.demand.sum()), 4),
        "cycle service": cycle_service_level(log),
        "on hand": round(float(log.on_hand_end.mean()), 2),
        "profit / clairvoyant": round(float(log.profit.sum() / log.clairvoyant_profit.sum()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--skus", type=int, default=30)
    parser.add_argument("--arms", nargs="+", choices=["on", "off"], default=["on", "off"])
    parser.add_argument("--known-baseline", action="store_true")
    args = parser.parse_args()
    days = calendar(args.days)
    second = days[days.year == days.year.min() + 1]
    holiday = second[second.week.isin(list(HOLIDAY_WEEKS))]
    rows = []
    for seed in args.seeds:
        for yearly in (arm == "on" for arm in args.arms):
            run = run_backtest("holidays", args.days, args.skus, seed, progress=False,
                               yearly_season=yearly, known_baseline=args.known_baseline)  # fmt: skip
            log, forecasts = pd.DataFrame(run.market.log), pd.DataFrame(run.forecasts)
            for period, span in (("holiday weeks", holiday), ("second year", second)):
                rows.append({
                    "seed": seed, "yearly season": "on" if yearly else "off", "days": period,
                    **figures(log[log.day.isin(span.day)], forecasts[forecasts.day.isin(span.day)]),
                })  # fmt: skip
            print(rows[-2], rows[-1], sep="\n", flush=True)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.to_string(index=False))
        means = (
            table.groupby(["days", "yearly season"]).mean(numeric_only=True).drop(columns="seed")
        )
        print(means.round(4).to_string())
    on, off = (table[table["yearly season"] == v].reset_index() for v in ("on", "off"))
    if on.empty or off.empty:
        return
    for column in ("forecast MAE", "lost units", "on hand", "profit / clairvoyant"):
        change = on[column] - off[column]
        print(f"{column}, on − off per seed and period: {np.round(change.to_numpy(), 4).tolist()}")


if __name__ == "__main__":
    main()
