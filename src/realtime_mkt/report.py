"""Backtest reports: `report.json`, `report.md` and PNG plots in one folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from realtime_mkt.backtest import CARRYING_RATE, Run

# (figure, label, baseline figure or None, baseline label, target)
ROWS = [
    ("profit_vs_clairvoyant", "profit / clairvoyant profit", "profit_vs_clairvoyant_static", "static list price", "≥ 0.97"),
    ("profit_lift_vs_static", "profit lift over static list prices", None, "0 by definition", "≥ 0.10"),
    ("carrying_cost", f"carrying cost ({CARRYING_RATE * 100:.0f} %/year of unit cost)", "carrying_cost_static", "static list prices", ""),
    ("stock_value_end", "stock at cost on the last day", "stock_value_end_static", "static list prices", ""),
    ("cycle_service_level", "cycle service level (target 0.95)", "cycle_service_level_baseline", "static (s,S) tuned on 28 days", "0.95 ± 0.01"),
    ("fill_rate", "fill rate (units sold / demanded)", "fill_rate_baseline", "static (s,S)", ""),
    ("avg_on_hand", "average on hand (units/SKU/day)", "avg_on_hand_baseline", "static (s,S)", "≤ baseline"),
    ("avg_on_hand", "average on hand at equal service", "avg_on_hand_baseline_equal_service", "static (s,S) at our cycle service level", "≤ baseline"),
    ("guardrail_violations", "guardrail violations", None, "", "0"),
    ("ctr_logloss", "CTR progressive log loss", "ctr_logloss_baseline", "river plain LogisticRegression", "< baseline"),
    ("ctr_calibration", "CTR calibration (predicted / observed)", "ctr_calibration_baseline", "river plain LogisticRegression", "0.95–1.05"),
    ("forecast_mase", "forecast MASE", "forecast_mase_baseline", "seasonal naive (lag 7)", "< 1"),
    ("forecast_pi90_coverage", "90 % interval coverage", None, "", "0.88–0.92"),
    ("reco_mae", "preference progressive MAE (grades)", "reco_mae_baseline", "item popularity", "< baseline"),
    ("reco_rmse", "preference progressive RMSE (grades)", "reco_rmse_baseline", "item popularity", "< baseline"),
]  # fmt: skip


def write_report(out: Path, run: Run, figures: dict[str, Any], context: dict[str, Any]) -> None:
    """Write the report files and plots for a run."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({**context, "figures": figures}, indent=2) + "\n")
    log = pd.DataFrame(run.market.log)
    plots = {
        "prices.png": _plot_prices(log, run),
        "stock.png": _plot_stock(log),
        "forecast.png": _plot_forecast(log, pd.DataFrame(run.forecasts)),
        "ctr_calibration.png": _plot_calibration(run),
    }
    for name, figure in plots.items():
        figure.savefig(out / name, dpi=90, bbox_inches="tight")
        plt.close(figure)
    (out / "report.md").write_text(markdown(figures, context, list(plots)))


def markdown(figures: dict[str, Any], context: dict[str, Any], plots: list[str]) -> str:
    """The report table and plots as Markdown."""
    lines = [
        f"# Backtest: {context['scenario']}",
        "",
        f"`{context['command']}` — {context['days']} days, {context['skus']} SKUs, seed {context['seed']}.",
        "",
        "| figure | ours | baseline | target |",
        "|---|---|---|---|",
    ]
    for key, label, base_key, base_label, target in ROWS:
        base = base_label
        if base_key:
            value = figures[base_key]
            base = f"{'n/a' if value is None else value} ({base_label})"
        lines.append(f"| {label} | {figures[key]} | {base} | {target} |")
    ours, base = (
        figures["cycle_service_level_by_lead_time"],
        figures["cycle_service_level_by_lead_time_baseline"],
    )
    by_lead_time = ", ".join(f"{days} d: {ours[days]} / {base.get(days)}" for days in ours)
    frontier = "; ".join(
        f"asked {p['target']}: service {p['cycle_service_level']}, on hand {p['avg_on_hand']}"
        for p in figures["restock_baseline_frontier"]
    )
    lines += [
        "",
        f"Cycle service level by lead time, ours / static (s,S): {by_lead_time}.",
        "",
        f"Static (s,S) runs behind the equal-service figure ({frontier}); its stock is"
        " interpolated between the two runs whose service brackets ours (n/a when none does:"
        " asked for 99 % it still served less than we did, or asked for 90 % still more).",
        "",
        f"Decisions: {figures['decisions']}; impressions scored: {figures['impressions']}.",
        "",
        "Promotion ads: {impressions} impressions to the promotions' audiences, {clicks} clicks"
        " (CTR {ctr}), {units} units sold through them, {spend} spent, {profit} earned net of"
        " that spend.".format(**figures["promotion_ads"]),
        "",
    ]
    lines += [f"![{name}]({name})" for name in plots]
    return "\n".join(lines) + "\n"


def _sample_skus(log: pd.DataFrame, n: int = 3) -> list[str]:
    return sorted(log.sku_id.unique())[:n]


def _plot_prices(log: pd.DataFrame, run: Run) -> plt.Figure:
    figure, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for axis, sku in zip(axes, _sample_skus(log), strict=False):
        rows = log[log.sku_id == sku]
        axis.plot(rows.day, rows.price, label="our price (incl. promotions)")
        axis.plot(rows.day, rows.optimal_price, "--", label="true optimum")
        axis.plot(rows.day, rows.competitor, ":", label="competitor")
        axis.set_ylabel(sku)
    axes[0].legend(fontsize=8)
    axes[-1].set_xlabel("day")
    figure.suptitle("Prices against the optimum")
    return figure


def _plot_stock(log: pd.DataFrame) -> plt.Figure:
    figure, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for axis, sku in zip(axes, _sample_skus(log), strict=False):
        rows = log[log.sku_id == sku]
        axis.plot(rows.day, rows.on_hand_end.clip(lower=0), label="on hand (end of day)")
        out = rows[rows.demand > rows.sold]
        axis.scatter(out.day, [0] * len(out), color="red", marker="x", label="stock-out")
        axis.set_ylabel(sku)
    axes[0].legend(fontsize=8)
    axes[-1].set_xlabel("day")
    figure.suptitle("Stock and stock-outs")
    return figure


def _plot_forecast(log: pd.DataFrame, forecasts: pd.DataFrame) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(9, 3.5))
    sku = _sample_skus(log, 1)[0]
    actual = log[log.sku_id == sku]
    predicted = forecasts[forecasts.sku_id == sku] if len(forecasts) else forecasts
    axis.plot(actual.day, actual.demand, ".", label="demand (uncensored truth)")
    if len(predicted):
        axis.plot(predicted.day, predicted["mean"], label="forecast")
        axis.fill_between(
            predicted.day, predicted["mean"] - 1.645 * predicted["std"], predicted["mean"] + 1.645 * predicted["std"],
            alpha=0.25, label="90 % interval",
        )  # fmt: skip
    axis.set_title(f"One-day-ahead forecast, {sku}")
    axis.legend(fontsize=8)
    return figure


def _plot_calibration(run: Run) -> plt.Figure:
    figure, axis = plt.subplots(figsize=(4.5, 4.5))
    assert run.users is not None and run.baseline_ctr is not None
    for label, model in (("FTRL-Proximal (ours)", run.users.ctr), ("plain LR", run.baseline_ctr)):
        curve = model.score.curve()
        axis.loglog(
            [p for p, _, _ in curve], [max(y, 1e-5) for _, y, _ in curve], "o-", label=label
        )
    axis.plot([1e-4, 1], [1e-4, 1], "k--", linewidth=0.8, label="perfect")
    axis.set_xlabel("predicted CTR")
    axis.set_ylabel("observed CTR")
    axis.set_title("CTR calibration")
    axis.legend(fontsize=8)
    return figure
