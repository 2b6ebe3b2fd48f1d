"""What a SKU's category tells of its price response: partial pooling (empirical Bayes).

A SKU's own days identify its response e − x slowly: after 120 days of the simulator's
mispriced market its standard error was still about 0.6, worth three points of profit. The
SKUs of a category respond alike, so each is priced with its category's responses as a
prior, N(μ, τ²·(1 + 1/n)), beside its own regression:

- μ is the mean of the other SKUs' current estimates in the category (leave-one-out: the SKU's
  own data must not count twice), n how many there are;
- τ² is the spread of the estimates around their category's mean, pooled over categories,
  with the regression's own prior (standard deviation 1) worth PRIOR_SKUS SKUs, so a few SKUs
  move it a little and a catalog's worth replaces it.

τ² is read from the estimates as they are, their own errors included, so it is wider than the
true spread (on the simulator 0.67–0.70 against 0.2–0.4) and pools less than it could: the
textbook moment estimator, which subtracts the estimates' squared standard errors, pooled more
and earned less (docs/reports.md, *Price responses pooled by category*).

Only SKUs whose own estimate has some data behind it (standard error ≤ MAX_STDERR; the prior
alone gives √2) take part, each once, with its latest estimate read without the pool: the pool
keeps each category's sums and the SKU what it added, which it takes back before adding its
new one. `store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's
batch sees it, as for `ListPriceError`: each partition pools its own SKUs in their input order,
so a decision depends only on the partition's inputs.
"""

from __future__ import annotations

import math

from realtime_mkt.key_value import KeyValueStore, replaced_part
from realtime_mkt.models.elasticity import Pooled

MAX_STDERR = 1.0  # a SKU's own estimate takes part once its standard error is at most this
PRIOR_SD = 1.0  # the spread assumed before the SKUs tell: the regression's own prior's
PRIOR_SKUS = 10.0  # ... worth this many SKUs
MIN_OTHERS = 2  # other SKUs of the category needed for a mean
MIN_DEGREES = 5  # SKUs beyond one per category, over all categories, needed for a spread
SPREAD_KEY = ("category-response-spread", "")  # in a store shared with SKU states (bare sku_id)


def category_key(category: str) -> tuple[str, str]:
    """A category's sums' key in a store shared with SKU states."""
    return ("category-response", category)


def part_of(response: float, stderr: float) -> float | None:
    """What a SKU's estimate adds to its category's pool, or None if it says too little (or
    is not a number: one NaN in the sums would stop the pricing of its whole category)."""
    if not stderr <= MAX_STDERR or not math.isfinite(response):
        return None
    return response


class CategoryResponses:
    """Each category's SKUs' price responses, and their spread within categories, in `store`."""

    def __init__(self, store: KeyValueStore | None = None) -> None:
        self.store: KeyValueStore = {} if store is None else store

    def sums(self, category: str) -> list[float]:
        """[SKUs, Σ response, Σ response²] over the category's SKUs taking part."""
        return list(self.store.get(category_key(category)) or [0.0, 0.0, 0.0])

    def spread_sums(self) -> list[float]:
        """[Σ squared deviations from their category's mean, degrees of freedom] over all."""
        return list(self.store.get(SPREAD_KEY) or [0.0, 0.0])

    def update(self, category: str, old: float | None, new: float | None) -> None:
        """Replace one SKU's part in its category's sums (`old`: what it added last)."""
        if old == new:
            return
        before = self.sums(category)
        parts = [None if part is None else (1.0, part, part**2) for part in (old, new)]
        after = replaced_part(before, *parts)
        self.store[category_key(category)] = after
        count, total, squares = after
        deviations, degrees = self.spread_sums()
        self.store[SPREAD_KEY] = [
            deviations + _deviations(count, total, squares) - _deviations(*before),
            degrees + max(count - 1.0, 0.0) - max(before[0] - 1.0, 0.0),
        ]

    def spread(self) -> float:
        """τ²: the responses' variance around their category's mean, with the prior."""
        deviations, degrees = self.spread_sums()
        return (PRIOR_SKUS * PRIOR_SD**2 + max(deviations, 0.0)) / (PRIOR_SKUS + max(degrees, 0.0))

    def others(self, category: str, own: float | None) -> tuple[float, float]:
        """(SKUs, Σ response) over the other SKUs of `category` than the one whose part in the
        sums is `own` (None: it takes no part)."""
        count, total, _ = self.sums(category)
        return (count, total) if own is None else (count - 1.0, total - own)

    def prior(self, category: str, own: float | None) -> Pooled | None:
        """The prior on a SKU's response from the other SKUs of its `category` (`own`: the
        SKU's part in the sums), or None while they are too few to tell."""
        count, total = self.others(category, own)
        if count < MIN_OTHERS or self.spread_sums()[1] < MIN_DEGREES:
            return None
        return total / count, self.spread() * (1.0 + 1.0 / count)


def _deviations(count: float, total: float, squares: float) -> float:
    """Σ (response − the category's mean)² from a category's sums."""
    return squares - total * total / count if count > 0 else 0.0
