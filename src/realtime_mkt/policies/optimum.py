"""The profit-maximising price under a constant price response, and how sure of it an estimate is.

With a constant own-price response e < −1 and unit cost c, profit (p − c)·p^e is largest at
p* = c·e/(1+e). An estimate of e with standard error SE puts ln p* within about
SE·|d ln p*/de| = SE/|e(1+e)| of the truth: the spread pricing weighs against the list price's.
"""

from __future__ import annotations


def optimum_price(unit_cost: float, elasticity: float) -> float:
    """p* = c·e/(1+e), for e < −1."""
    return unit_cost * elasticity / (1.0 + elasticity)


def optimum_spread(elasticity: float, stderr: float) -> float:
    """s = SE·|d ln p*/de| = SE/|e(1+e)|: how far one standard error moves ln p* (e < −1)."""
    return stderr / abs(elasticity * (1.0 + elasticity))
