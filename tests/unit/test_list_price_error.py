"""The list prices' error pooled over SKUs: what pricing trusts a list price to be worth, and
how it blends it with the price its category's markups give."""

import math

import numpy as np
import pytest

from realtime_mkt.policies.list_price_error import (
    MAX_ERROR,
    MAX_SPREAD,
    MIN_ERROR,
    POOL_KEY,
    PRIOR_SKUS,
    Anchor,
    ListPriceError,
    blend_part,
    squared_distance,
)
from realtime_mkt.policies.optimum import optimum_spread


def optimum(unit_cost: float, elasticity: float) -> float:
    return unit_cost * elasticity / (1 + elasticity)


@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.25])
def test_the_pool_finds_how_far_list_prices_are_from_the_optimum(sigma):
    rng = np.random.default_rng(1)
    pool = ListPriceError(prior=0.1)
    for _ in range(2000):
        cost, elasticity = rng.uniform(5, 60), rng.uniform(-4.5, -1.6)
        list_price = optimum(cost, elasticity) * math.exp(rng.normal(0, sigma))
        pool.update(None, squared_distance(cost, list_price, elasticity, stderr=0.05))
    assert pool.sums()[0] == 2000
    assert pool.value() == pytest.approx(sigma, rel=0.05)


def test_the_prior_holds_until_skus_tell_otherwise():
    pool = ListPriceError(prior=0.1)
    assert pool.value() == 0.1
    far = squared_distance(10.0, optimum(10.0, -3.0) * math.exp(0.3), -3.0, 0.0)
    assert far == pytest.approx(0.09)
    for _ in range(int(PRIOR_SKUS)):
        pool.update(None, far)
    # as many SKUs as the prior is worth: halfway between the variances
    assert pool.value() == pytest.approx(math.sqrt((0.01 + 0.09) / 2))


def test_a_sku_counts_once_with_its_latest_estimate():
    store: dict = {}
    pool = ListPriceError(prior=0.1, store=store)
    pool.update(None, 0.04)
    pool.update(None, 0.01)
    pool.update(0.04, 0.09)  # the first SKU's estimate moved
    assert pool.sums() == pytest.approx((2.0, 0.10))
    pool.update(0.09, None)  # ... and is no longer informative
    assert pool.sums() == pytest.approx((1.0, 0.01))
    assert store == {POOL_KEY: pytest.approx([1.0, 0.01])}  # one entry, beside the SKUs' states


def test_only_informative_estimates_take_part():
    assert squared_distance(10.0, 15.0, -0.8, 0.1) is None  # inelastic: no optimum
    assert squared_distance(10.0, 15.0, -1.0, 0.0) is None
    vague = 1.01 * MAX_SPREAD * 3.0 * 2.0  # SE whose spread at e = −3 is just past MAX_SPREAD
    assert optimum_spread(-3.0, vague) > MAX_SPREAD
    assert squared_distance(10.0, 15.0, -3.0, vague) is None
    assert squared_distance(10.0, 15.0, -3.0, 0.99 * vague) == pytest.approx(0.0)
    for elasticity, stderr in [(math.nan, 0.1), (-3.0, math.nan), (-math.inf, 0.1)]:
        assert squared_distance(10.0, 15.0, elasticity, stderr) is None


def test_list_prices_are_never_trusted_outright_nor_ignored():
    pool = ListPriceError(prior=0.1)
    for _ in range(10_000):
        pool.update(None, 0.0)
    assert pool.value() == MIN_ERROR
    pool = ListPriceError(prior=0.1)
    for _ in range(100):
        pool.update(None, 4.0)
    assert pool.value() == MAX_ERROR


def skus_with_peers(pool: ListPriceError, list_sd: float, peer_sd: float, together: float) -> None:
    """2,000 SKUs whose list prices are off their optimum by N(0, list_sd²) in logs, and whose
    category's markups' price by `together` × that plus N(0, peer_sd²) of its own."""
    rng = np.random.default_rng(2)
    for _ in range(2000):
        cost, elasticity = rng.uniform(5, 60), rng.uniform(-4.5, -1.6)
        list_error = rng.normal(0, list_sd)
        list_price = optimum(cost, elasticity) * math.exp(list_error)
        peer = optimum(cost, elasticity) * math.exp(together * list_error + rng.normal(0, peer_sd))
        pool.update(None, squared_distance(cost, list_price, elasticity, 0.05))
        pool.update_blend(None, blend_part(cost, list_price, peer, elasticity, 0.05))


def test_the_anchor_leans_on_the_categorys_markups_where_they_are_nearer_the_optimum():
    pool = ListPriceError(prior=0.1)
    skus_with_peers(pool, list_sd=0.2, peer_sd=0.1, together=0.0)
    anchor = pool.anchor(20.0, 16.0)
    # independent errors: shares by precision, 0.1² / (0.2² + 0.1²) to the list price
    assert anchor.list_share == pytest.approx(0.2, abs=0.03)
    assert anchor.error == pytest.approx(math.sqrt(0.2**2 * 0.1**2 / (0.2**2 + 0.1**2)), rel=0.05)
    assert anchor.price == pytest.approx(20.0**anchor.list_share * 16.0 ** (1 - anchor.list_share))
    assert anchor.list_price_error == pool.value() == pytest.approx(0.2, rel=0.05)


def test_a_merchant_who_prices_by_category_markup_keeps_the_list_price():
    pool = ListPriceError(prior=0.1)
    # the category's markups err as the list price does, and by more of their own
    skus_with_peers(pool, list_sd=0.2, peer_sd=0.1, together=1.0)
    anchor = pool.anchor(20.0, 16.0)
    assert anchor.list_share > 0.9 and anchor.price == pytest.approx(20.0, rel=0.03)
    assert anchor.error == pytest.approx(pool.value(), rel=0.01)


def test_before_the_skus_tell_the_anchor_is_the_list_price_at_the_prior():
    pool = ListPriceError(prior=0.1)
    assert pool.anchor(20.0, 16.0) == pytest.approx(Anchor(20.0, 0.1, 1.0, 0.1))
    assert pool.anchor(20.0, None) == pytest.approx(Anchor(20.0, 0.1, 1.0, 0.1))  # no peers
    for _ in range(40):  # SKUs tell of σ_L only (no peers): still the list price, at theirs
        pool.update(None, 0.04)
    assert pool.anchor(20.0, 16.0) == pytest.approx(Anchor(20.0, pool.value(), 1.0, pool.value()))


def test_a_skus_blend_part_counts_once_and_only_from_an_informative_estimate():
    store: dict = {}
    pool = ListPriceError(prior=0.1, store=store)
    part = blend_part(10.0, 16.0, 18.0, -3.0, 0.1)  # p* = 15
    assert part == pytest.approx([1.0, math.log(15 / 16) ** 2, math.log(15 / 18) ** 2,
                                  math.log(15 / 16) * math.log(15 / 18)])  # fmt: skip
    pool.update_blend(None, part)
    pool.update_blend(part, blend_part(10.0, 16.0, 15.0, -3.0, 0.1))  # its peers moved
    assert pool.blend_sums() == pytest.approx([1.0, math.log(15 / 16) ** 2, 0.0, 0.0])
    pool.update_blend(blend_part(10.0, 16.0, 15.0, -3.0, 0.1), None)
    assert store == {("list-price-blend", ""): pytest.approx([0.0] * 4)}  # apart from POOL_KEY
    assert blend_part(10.0, 16.0, 18.0, -3.0, 3.0) is None  # too vague
    assert blend_part(10.0, 16.0, 18.0, -0.8, 0.1) is None  # inelastic
