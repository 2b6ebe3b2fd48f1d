"""The profit-maximising price under a constant price response, and how sure of it an estimate is.

With a constant own-price response e < −1 and unit cost c, profit (p − c)·p^e is largest at
p* = c·e/(1+e). An estimate of e with standard error SE puts ln p* within about
SE·|d ln p*/de| = SE/|e(1+e)| of the truth: the spread pricing weighs against the list price's.
That spread is a linearisation: ln p* = ln(c·e/(1+e)) is convex in e and runs off to infinity as
e nears −1, so a standard error moves p* further up than down. `posterior_log_optimum` weighs the
two without it: the mean of ln p* over the estimate's normal distribution, each value weighted by
how likely it makes the list price (ln L = ln p* + an error of sd σ_L).

Stock beyond what the next order needs lowers the cost that matters. A unit sold now instead of
when the shelf would have reached it saves holding it for the days in between, so, at a carrying
rate h a year of unit cost, its cost is c·e^(−h·days/365) and p* falls by the same factor
(`overstock_cut`): 9.5 % for 150 days of cover at 25 %/year. Clearing stock faster than that
gives away more margin than it saves in holding.
"""

from __future__ import annotations

import math


def optimum_price(unit_cost: float, elasticity: float) -> float:
    """p* = c·e/(1+e), for e < −1."""
    return unit_cost * elasticity / (1.0 + elasticity)


def optimum_spread(elasticity: float, stderr: float) -> float:
    """s = SE·|d ln p*/de| = SE/|e(1+e)|: how far one standard error moves ln p* (e < −1)."""
    return stderr / abs(elasticity * (1.0 + elasticity))


def precision_weight(spread2: float, list2: float) -> float:
    """w = σ_L²/(σ_L² + s²) from the squared spreads of the estimated optimum (s²) and of the
    list price (σ_L²): the optimum's precision against the list price's, and the share of the
    log-distance from one to the other the linearised posterior mean takes. An exact estimate
    (or one whose spread's square underflows) weighs 1, even against an exact list price."""
    return 1.0 if spread2 == 0.0 else list2 / (list2 + spread2)


POSTERIOR_GRID_MARGIN = 8.0  # linearised standard deviations beyond ln L and ln p*(ê)
POSTERIOR_GRID_STEPS = 5  # points per linearised standard deviation
POSTERIOR_GRID_MAX = 2000  # points at most, for an estimate and a list price far apart


def posterior_log_optimum(
    unit_cost: float, elasticity: float, stderr: float, list_price: float, list_price_error: float
) -> float:
    """E[ln p*] given the estimate e ~ N(`elasticity`, `stderr`²) and the list price L, whose log
    is ln p* off by N(0, σ_L²) (e < −1; the module docstring).

    Integrated over u = ln p*, where e = k/(1 − k) with k = e^u/c and the density of u is
    N(u; ln L, σ_L²)·N(e(u); ê, SE²)·|de/du|, de/du = k/(k − 1)², on a grid from ln L and
    ln p*(ê) out to `POSTERIOR_GRID_MARGIN` standard deviations of the linearised answer (the
    precision-weighted mean of the two), `POSTERIOR_GRID_STEPS` points to each.
    """
    ln_cost, ln_list = math.log(unit_cost), math.log(list_price)
    ln_optimum = math.log(optimum_price(unit_cost, elasticity))
    spread2 = optimum_spread(elasticity, stderr) ** 2
    list2 = list_price_error**2
    if spread2 == 0.0 or stderr**2 == 0.0:  # an exact estimate (or one whose square underflows)
        return ln_optimum
    if list2 == 0.0:  # an exact list price
        return ln_list
    mean = ln_list + precision_weight(spread2, list2) * (ln_optimum - ln_list)
    sd = math.sqrt(list2 * spread2 / (list2 + spread2))
    if sd == 0.0:  # both so precise that their product underflows: the linearised mean it is
        return mean
    low = max(min(ln_list, ln_optimum) - POSTERIOR_GRID_MARGIN * sd, ln_cost)
    high = max(ln_list, ln_optimum) + POSTERIOR_GRID_MARGIN * sd
    points = min(math.ceil((high - low) / sd * POSTERIOR_GRID_STEPS), POSTERIOR_GRID_MAX)
    step = (high - low) / points
    grid, log_density = [], []
    for i in range(points):
        u = low + step * (i + 0.5)
        excess = math.expm1(u - ln_cost)  # k − 1
        if excess <= 0.0:  # at the cost itself, within rounding: no finite e
            continue
        e = -(excess + 1.0) / excess
        grid.append(u)
        log_density.append(
            -0.5 * ((u - ln_list) ** 2 / list2 + (e - elasticity) ** 2 / stderr**2)
            + math.log1p(excess)
            - 2.0 * math.log(excess)
        )
    if not grid:
        return mean
    top = max(log_density)
    weights = [math.exp(d - top) for d in log_density]
    return sum(w * u for w, u in zip(weights, grid, strict=True)) / sum(weights)


def overstock_cut(cover_days: float, lead_time_days: float, carrying_rate: float) -> float:
    """The share by which stock covering `cover_days` of demand lowers p*: 1 − e^(−h·held/365),
    where held are the days past the lead time (until an order placed now could arrive) that
    the last unit waits; 0 when the stock is not more than the lead time needs."""
    held = max(cover_days - lead_time_days, 0.0)
    return 1.0 - math.exp(-carrying_rate * held / 365.0)
