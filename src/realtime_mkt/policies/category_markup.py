"""What a category's list prices say of a SKU's: the price its other SKUs' markups would give it.

SKUs of a category respond alike to their prices, so their profit-maximising markups over cost,
r/(1+r), are alike: on the simulator a category's responses spread by about 0.3, which moves
ln(r/(1+r)) by about 0.05. A list price whose markup stands out from its category's is then
likely off. The peer price of a SKU with unit cost c is c·exp(mean of ln(list price / cost) over
the category's other SKUs) (leave-one-out: the SKU's own list price is the other anchor);
`list_price_error.ListPriceError.anchor` blends the two by how near each has been to the SKUs'
estimated optima.

Each SKU takes part once, with its latest list price and cost: the pool keeps each category's
count and sum, the SKU what it added (`SkuState.markup`), which it takes back before adding its
new one. `store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's
batch sees it, as for the category's price responses: each partition pools its own SKUs.
"""

from __future__ import annotations

import math

from realtime_mkt.key_value import KeyValueStore, replaced_part

MIN_PEERS = 2  # other SKUs of the category needed for a peer price


def category_key(category: str) -> tuple[str, str]:
    """A category's sums' key in a store shared with SKU states."""
    return ("category-markup", category)


def markup_of(list_price: float, unit_cost: float | None) -> float | None:
    """ln(list price / cost): what a SKU adds to its category's markups (None without a
    positive cost and list price, or where the ratio is not a finite number)."""
    if unit_cost is None or not unit_cost > 0 or not list_price > 0:
        return None
    markup = math.log(list_price / unit_cost)
    return markup if math.isfinite(markup) else None


class CategoryMarkups:
    """Each category's SKUs' log markups, in `store`."""

    def __init__(self, store: KeyValueStore | None = None) -> None:
        self.store: KeyValueStore = {} if store is None else store

    def sums(self, category: str) -> list[float]:
        """[SKUs, Σ ln(list price / cost)] over the category's SKUs taking part."""
        return list(self.store.get(category_key(category)) or [0.0, 0.0])

    def update(self, category: str, old: float | None, new: float | None) -> None:
        """Replace one SKU's part in its category's sums (`old`: what it added last)."""
        if old == new:
            return
        parts = [None if part is None else (1.0, part) for part in (old, new)]
        self.store[category_key(category)] = replaced_part(self.sums(category), *parts)

    def peer_price(self, category: str, own: float | None, unit_cost: float) -> float | None:
        """The price the category's other SKUs' mean markup gives cost `unit_cost` (`own`: the
        SKU's part in the sums), or None while they are fewer than MIN_PEERS."""
        count, total = self.sums(category)
        if own is not None:
            count, total = count - 1.0, total - own
        if count < MIN_PEERS or not unit_cost > 0:
            return None
        return unit_cost * math.exp(total / count)
