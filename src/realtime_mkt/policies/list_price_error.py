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

**The category's markups as a second anchor** (`anchor`). The other SKUs of the category tell
of ln p* too: SKUs of a category respond alike, so their optimal markups r/(1+r) are alike, and
a list price whose markup over cost stands out from its category's is likely off. Their price
P = c·exp(mean over the category's other SKUs of ln(list price / cost)) (`category_markup`)
is blended with the list price, L^w·P^(1−w), with the w that brings the blend nearest the SKUs'
estimated optima: from the second moments of d_L = ln(p̂*/L) and d_P = ln(p̂*/P) over the same
SKUs, w = (S_PP − S_LP)/(S_LL + S_PP − 2·S_LP) within [0, 1]. An estimate's error is in d_L and
d_P alike, so it adds the same to every blend's mean square w²S_LL + (1−w)²S_PP + 2w(1−w)S_LP
and leaves w where it is, as long as it is independent of the anchors' errors. A shrunk
estimate's is not: it leans toward the typical response, so its optimum toward the typical
markup, which P is, and P looks nearer the optimum than it is. Read from the estimate pricing
uses (its category's responses a prior, `models/category_response.py`), the well-priced
market's seed 13 gave w 0.55 for peers seven times as far off as the list prices; from the
SKU's own regression, whose prior also pulls toward a typical −2.62, 0.65–0.84. So the moments
are read from the SKU's own days with that pull undone (`LogLogElasticity.data_response`), and
kept apart from σ_L's sums (BLEND_KEY; the SKU keeps its part as for σ_L). That brings w nearer
the truth, not all the way (undone as a normal prior's pull, 20-day averages of w 0.89–1.0 on
seed 7 and 0.65–0.93 on seed 13). The blend's
error σ_A is σ_L times how much nearer the optimum the blend has been than the list price
alone (the root of its mean square over S_LL), so where w = 1 it is σ_L. The prior, worth the
same PRIOR_SKUS, is S_LL = S_LP = σ_L², S_PP = 2σ_L²: peers worth less than the list price and
erring with it, which gives w = 1, the list price alone. A merchant who prices each category
at one markup makes P and L err together, and w stays near 1; where list prices scatter
around a category's right markup, as in the simulator's mispriced market, P is the better
anchor (there σ_P is 0.11–0.16 against σ_L's 0.18–0.19). SKUs with fewer than two peers on the
partition take no part and are priced from their list price alone.

`store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's batch
sees it, as for restock's `CyclePool`: each partition learns from its own SKUs in their input
order, so a decision depends only on the partition's inputs, and the pool moves with it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from realtime_mkt.key_value import KeyValueStore, replaced_part
from realtime_mkt.policies.optimum import optimum_price, optimum_spread

MAX_SPREAD = 0.2  # s above this: the SKU's estimate says too little about its optimum
PRIOR_SKUS = 10.0  # the configured σ_L counts as this many SKUs' worth of evidence
MIN_ERROR = 0.02  # σ_L is never taken below this: a list price is never trusted outright
MAX_ERROR = 0.5  # ... nor above this (list prices within about a factor of e of the optimum)
POOL_KEY = ("list-price-error", "")  # in a store shared with SKU states (keyed by bare sku_id)
BLEND_KEY = ("list-price-blend", "")  # the blend's moments, beside POOL_KEY


class Anchor(NamedTuple):
    """Where pricing's target starts from while the estimate is uncertain."""

    price: float  # the list price blended with the category's markups' price
    error: float  # σ_A: how far such a blend is typically from the optimum (log)
    list_share: float  # w: the list price's share of the blend (1: the list price alone)
    list_price_error: float  # σ_L: what the list price alone is worth


def _log_optimum(unit_cost: float, elasticity: float, stderr: float) -> float | None:
    """ln p̂* of an informative estimate (s ≤ MAX_SPREAD, demand elastic, a positive cost),
    else None."""
    if not elasticity < -1.0 or unit_cost <= 0:
        return None
    if not optimum_spread(elasticity, stderr) <= MAX_SPREAD:
        return None
    log_optimum = math.log(optimum_price(unit_cost, elasticity))
    return log_optimum if math.isfinite(log_optimum) else None


def squared_distance(
    unit_cost: float, list_price: float, elasticity: float, stderr: float
) -> float | None:
    """What a SKU tells about its list price's error, d² = ln(p̂*/list price)², or None when its
    estimate is not informative enough to tell anything (or not a number: one NaN in the sums
    would stop the pricing of every SKU that shares them)."""
    log_optimum = _log_optimum(unit_cost, elasticity, stderr)
    if log_optimum is None or list_price <= 0:
        return None
    return (log_optimum - math.log(list_price)) ** 2


def blend_part(
    unit_cost: float, list_price: float, peer_price: float, elasticity: float, stderr: float
) -> list[float] | None:
    """What a SKU tells about blending its list price L with its category's markups' price P:
    [1, d_L², d_P², d_L·d_P], d = ln(p̂*/anchor), from an estimate of its own days with the
    prior's pull undone (`LogLogElasticity.data_response`: a shrunk estimate errs toward the
    typical markup, which P is); None when the estimate tells too little."""
    log_optimum = _log_optimum(unit_cost, elasticity, stderr)
    if log_optimum is None or list_price <= 0 or peer_price <= 0:
        return None
    d_list, d_peer = log_optimum - math.log(list_price), log_optimum - math.log(peer_price)
    return [1.0, d_list * d_list, d_peer * d_peer, d_list * d_peer]


class ListPriceError:
    """The pooled estimate of σ_L, and of the blend with the category's markups, over the SKUs
    that share `store`."""

    def __init__(self, prior: float, store: KeyValueStore | None = None) -> None:
        self.prior = prior
        self.store: KeyValueStore = {} if store is None else store

    def sums(self) -> tuple[float, float]:
        """(SKUs, Σd²) over the SKUs taking part."""
        count, squares = self.store.get(POOL_KEY) or (0.0, 0.0)
        return count, squares

    def blend_sums(self) -> list[float]:
        """[SKUs, Σd_L², Σd_P², Σd_L·d_P] over the SKUs with peers whose own days tell."""
        return list(self.store.get(BLEND_KEY) or [0.0, 0.0, 0.0, 0.0])

    def update(self, old: float | None, new: float | None) -> None:
        """Replace one SKU's d² in the sums (`old`: what it added last, None if nothing)."""
        if old == new:
            return
        parts = [None if part is None else (1.0, part) for part in (old, new)]
        self.store[POOL_KEY] = replaced_part(self.sums(), *parts)

    def update_blend(self, old: list[float] | None, new: list[float] | None) -> None:
        """Replace one SKU's `blend_part` in the blend's sums (`old`: what it added last)."""
        if old == new:
            return
        self.store[BLEND_KEY] = replaced_part(self.blend_sums(), old, new)

    def value(self) -> float:
        """σ_L: the SKUs' root mean square d weighed with the prior, within [MIN_ERROR, MAX_ERROR]."""
        count, squares = self.sums()
        variance = (PRIOR_SKUS * self.prior**2 + max(squares, 0.0)) / (PRIOR_SKUS + max(count, 0.0))
        return _bounded(variance)

    def blend(self) -> tuple[float, float]:
        """(w, the blend's mean square distance over the list price's): the list price's share
        of the anchor, and how much nearer the optimum the blend has been (module docstring)."""
        count, squares_list, squares_peer, cross = self.blend_sums()
        weight, prior = PRIOR_SKUS + max(count, 0.0), self.prior**2
        s_ll = (PRIOR_SKUS * prior + max(squares_list, 0.0)) / weight
        s_pp = (PRIOR_SKUS * 2.0 * prior + max(squares_peer, 0.0)) / weight
        s_lp = (PRIOR_SKUS * prior + cross) / weight
        apart = s_ll + s_pp - 2.0 * s_lp
        share = 1.0 if apart <= 0.0 else min(max((s_pp - s_lp) / apart, 0.0), 1.0)
        square = share**2 * s_ll + (1.0 - share) ** 2 * s_pp + 2.0 * share * (1.0 - share) * s_lp
        return share, max(square, 0.0) / s_ll if s_ll > 0.0 else 1.0

    def anchor(self, list_price: float, peer_price: float | None) -> Anchor:
        """The list price blended with the category's markups' price `peer_price` (None: too
        few peers, the list price alone), and the blend's error: σ_L scaled by how much nearer
        the optimum the blend has been than the list price (`blend`)."""
        sigma = self.value()
        if peer_price is None:
            return Anchor(list_price, sigma, 1.0, sigma)
        share, nearer = self.blend()
        price = math.exp(share * math.log(list_price) + (1.0 - share) * math.log(peer_price))
        return Anchor(price, _bounded(sigma**2 * nearer), share, sigma)


def _bounded(square: float) -> float:
    return min(max(math.sqrt(max(square, 0.0)), MIN_ERROR), MAX_ERROR)
