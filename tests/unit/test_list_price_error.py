"""The list prices' error pooled over SKUs: what pricing trusts a list price to be worth."""

import math

import numpy as np
import pytest

from realtime_mkt.policies.list_price_error import (
    MAX_ERROR,
    MAX_SPREAD,
    MIN_ERROR,
    POOL_KEY,
    PRIOR_SKUS,
    ListPriceError,
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
