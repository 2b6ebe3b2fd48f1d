"""How far the merchant's list prices are from the profit optimum, learned across SKUs.

Pricing weighs a SKU's list price against its estimated optimum p̂* by their precisions
(`pricing`): the list price is taken as an estimate of ln p* with a typical error σ_L, the
estimate with the spread s = SE/|e(1+e)| its standard error gives it. σ_L is the merchant's, so
no SKU can tell it alone, but its SKUs together can (empirical Bayes): it is the root mean
square over SKUs of the log-distance d = ln(p̂*/list price),

    σ̂_L² = mean over SKUs of d².

An estimate's own error widens d, and its shrinkage narrows it. A measurement with independent
errors would have E[d²] = σ_L² + s², a posterior mean centred on the list price
E[d²] = σ_L² − s²; the engine's estimates sit between the two. On the simulator (seed 7, from
day 30 on) their errors were 0.67–0.84 of their standard errors and leaned against the list
price's error, and d came out at 0.10–0.12 and 0.16–0.18 for list prices off by 0.10 and 0.19,
where subtracting s² left 0.00–0.03 and 0.10–0.15 (`benchmarks/list_price_error.py`).

Only SKUs whose estimate is informative (s ≤ MAX_SPREAD, demand elastic) take part: near
e = −1 the optimum runs off to infinity. The configured σ_L (`PricingConfig.list_price_error`)
is a prior worth PRIOR_SKUS SKUs, so a few SKUs move it a little and a catalog's worth replaces
it. Each SKU counts once, with its latest estimate: the pool keeps the sums, and the SKU the d²
it added, which it takes back before adding its new one.

`store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's batch
sees it, as for restock's `CyclePool`: each partition learns from its own SKUs in their input
order, so a decision depends only on the partition's inputs, and the pool moves with it.
"""

from __future__ import annotations

import math

from realtime_mkt.key_value import KeyValueStore
from realtime_mkt.policies.optimum import optimum_price, optimum_spread

MAX_SPREAD = 0.2  # s above this: the SKU's estimate says too little about its optimum
PRIOR_SKUS = 10.0  # the configured σ_L counts as this many SKUs' worth of evidence
MIN_ERROR = 0.02  # σ_L is never taken below this: a list price is never trusted outright
MAX_ERROR = 0.5  # ... nor above this (list prices within about a factor of e of the optimum)
POOL_KEY = ("list-price-error", "")  # in a store shared with SKU states (keyed by bare sku_id)


def squared_distance(
    unit_cost: float, list_price: float, elasticity: float, stderr: float
) -> float | None:
    """What a SKU tells about its list price's error, d² = ln(p̂*/list price)², or None when its
    estimate is not informative enough to tell anything (or not a number: one NaN in the sums
    would stop the pricing of every SKU that shares them)."""
    if not elasticity < -1.0 or unit_cost <= 0 or list_price <= 0:
        return None
    if not optimum_spread(elasticity, stderr) <= MAX_SPREAD:
        return None
    squared = math.log(optimum_price(unit_cost, elasticity) / list_price) ** 2
    return squared if math.isfinite(squared) else None


class ListPriceError:
    """The pooled estimate of σ_L over the SKUs that share `store`."""

    def __init__(self, prior: float, store: KeyValueStore | None = None) -> None:
        self.prior = prior
        self.store: KeyValueStore = {} if store is None else store

    def sums(self) -> tuple[float, float]:
        """(SKUs, Σd²) over the SKUs taking part."""
        count, squares = self.store.get(POOL_KEY) or (0.0, 0.0)
        return count, squares

    def update(self, old: float | None, new: float | None) -> None:
        """Replace one SKU's d² in the sums (`old`: what it added last, None if nothing)."""
        if old == new:
            return
        count, squares = self.sums()
        if old is not None:
            count, squares = count - 1.0, squares - old
        if new is not None:
            count, squares = count + 1.0, squares + new
        self.store[POOL_KEY] = [count, squares]

    def value(self) -> float:
        """σ_L: the SKUs' root mean square d weighed with the prior, within [MIN_ERROR, MAX_ERROR]."""
        count, squares = self.sums()
        variance = (PRIOR_SKUS * self.prior**2 + max(squares, 0.0)) / (PRIOR_SKUS + max(count, 0.0))
        return min(max(math.sqrt(variance), MIN_ERROR), MAX_ERROR)
