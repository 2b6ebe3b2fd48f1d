"""The profit-maximising price under a constant price response, and how sure of it an estimate is.

With a constant own-price response e < −1 and unit cost c, profit (p − c)·p^e is largest at
p* = c·e/(1+e). An estimate of e with standard error SE puts ln p* within about
SE·|d ln p*/de| = SE/|e(1+e)| of the truth: the spread pricing weighs against the list price's.

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


def overstock_cut(cover_days: float, lead_time_days: float, carrying_rate: float) -> float:
    """The share by which stock covering `cover_days` of demand lowers p*: 1 − e^(−h·held/365),
    where held are the days past the lead time (until an order placed now could arrive) that
    the last unit waits; 0 when the stock is not more than the lead time needs."""
    held = max(cover_days - lead_time_days, 0.0)
    return 1.0 - math.exp(-carrying_rate * held / 365.0)
