"""Price responses pooled by category: the pool's sums, the prior it gives, and what it is worth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from realtime_mkt.engine import SkuEngine
from realtime_mkt.models.category_response import (
    PRIOR_SD,
    PRIOR_SKUS,
    CategoryResponses,
    category_key,
    part_of,
)
from realtime_mkt.models.elasticity import LogLogElasticity
from realtime_mkt.streaming.app import sku_summary
from tests.helpers import opening, priced_demand, replay


def test_each_sku_counts_once_with_its_latest_response():
    pool = CategoryResponses()
    pool.update("toys", None, -3.0)
    pool.update("toys", None, -2.0)
    pool.update("toys", -2.0, -2.5)  # the second SKU's new estimate replaces its old one
    pool.update("garden", None, -1.5)
    pool.update("garden", None, -2.5)
    assert pool.sums("toys") == pytest.approx([2.0, -5.5, 9.0 + 6.25])
    # deviations from each category's own mean: 0.25² · 2 + 0.5² · 2; one degree per category
    deviations, degrees = pool.spread_sums()
    assert (deviations, degrees) == (pytest.approx(0.625), 2.0)
    pool.update("garden", -1.5, None)  # a SKU that stopped taking part leaves
    assert pool.spread_sums() == [pytest.approx(0.125), 1.0]


def test_the_prior_is_the_other_skus_mean_and_their_spread():
    pool = CategoryResponses()
    responses = {"toys": [-3.4, -3.0, -3.2, -2.8], "garden": [-2.0, -2.4, -2.2, -1.8]}
    for category, values in responses.items():
        for value in values:
            pool.update(category, None, value)
    deviations = sum(((np.array(v) - np.mean(v)) ** 2).sum() for v in responses.values())
    spread = (PRIOR_SKUS * PRIOR_SD**2 + deviations) / (PRIOR_SKUS + 6)
    assert pool.spread() == pytest.approx(spread)
    # a SKU of the pool is weighed against the others only (its own data must not count twice)
    mean, variance = pool.prior("toys", -3.4)  # type: ignore[misc]
    assert mean == pytest.approx(-3.0)
    assert variance == pytest.approx(spread * (1 + 1 / 3))
    # a SKU not in the pool (yet) against all of its category
    assert pool.prior("toys", None) == (pytest.approx(-3.1), pytest.approx(spread * 1.25))
    assert pool.prior("shoes", None) is None  # no SKUs of its own category


def test_too_few_skus_give_no_prior():
    pool = CategoryResponses()
    for value in (-3.0, -2.0, -2.5):
        pool.update("toys", None, value)
    assert pool.prior("toys", -3.0) is None  # two others, but two degrees of spread in all
    for value in (-1.0, -1.5, -2.0):
        pool.update("garden", None, value)
    assert pool.prior("toys", -3.0) is None  # four degrees
    pool.update("garden", None, -1.2)
    assert pool.prior("toys", -3.0) is not None
    assert pool.prior("toys", None) is not None


def test_only_estimates_with_data_behind_them_take_part():
    assert part_of(-3.0, 0.4) == -3.0
    assert part_of(-2.62, math.sqrt(2.0)) is None  # the regression's prior alone
    assert part_of(math.nan, 0.4) is None
    assert part_of(-3.0, math.nan) is None


def test_the_pool_lives_in_the_store_it_is_given():
    store: dict = {}
    CategoryResponses(store).update("toys", None, -3.0)
    assert store[category_key("toys")] == [1.0, -3.0, 9.0]
    assert CategoryResponses(store).sums("toys") == [1.0, -3.0, 9.0]


def short_history(rng: np.random.Generator, truth: float, days: int) -> LogLogElasticity:
    """A SKU's regression after `days` days at prices waving ±5 % around 20, demand ~30 a day."""
    model = LogLogElasticity()
    for _ in range(days):
        price = 20 * math.exp(rng.uniform(-0.05, 0.05))
        units = rng.poisson(30 * (price / 20) ** truth)
        model.learn(price, units, None, baseline=30.0)
    return model


def test_pooling_a_category_brings_short_histories_nearer_their_truth():
    """Eight SKUs of one category, responses −3 ± 0.2, 40 days each at prices within ±5 %:
    alone their estimates err by about 0.5 (RMS); with the others as a prior, 0.81–0.87 of that
    in six seeds of this test, and still within two standard errors of the truth. The spread
    read from eleven SKUs is mostly the prior's (τ ≈ 0.8), so the pool pulls gently here."""
    rng = np.random.default_rng(3)
    alone, pooled, covered = [], [], 0
    for _ in range(10):
        truths = -3.0 + rng.normal(0.0, 0.2, size=8)
        models = [short_history(rng, truth, 40) for truth in truths]
        pool = CategoryResponses()
        parts = [part_of(*model.own_price_response()[:2]) for model in models]
        for part in parts:
            pool.update("toys", None, part)
        for _ in range(3):  # a second category gives the spread more degrees of freedom
            pool.update(
                "garden", None, part_of(*short_history(rng, -2.0, 40).own_price_response()[:2])
            )
        for truth, model, part in zip(truths, models, parts, strict=True):
            alone.append(model.own_price_response()[0] - truth)
            response, stderr, _ = model.own_price_response(pool.prior("toys", part))
            pooled.append(response - truth)
            covered += abs(response - truth) <= 2 * stderr
    rms_alone, rms_pooled = (math.sqrt(np.mean(np.square(e))) for e in (alone, pooled))
    assert rms_pooled < 0.9 * rms_alone
    assert covered >= 0.9 * len(pooled)


def test_pricing_reads_the_response_with_its_category_and_the_view_shows_it():
    engine = SkuEngine()
    inputs = []
    for sku in ("a", "b", "c", "d", "e", "f"):
        inputs += opening(sku, 200) + priced_demand(sku, range(20))
    states, _ = replay(engine, inputs)
    state = states["a"]
    assert state.category_response == part_of(*state.elasticity.own_price_response()[:2])
    assert engine.category_responses.sums("toys")[0] == 6
    prior = engine.category_responses.prior("toys", state.category_response)
    assert prior is not None
    priced = engine.price_response(state)
    assert priced == state.elasticity.own_price_response(prior)
    assert priced[:2] != state.elasticity.own_price_response()[:2]
    shown = sku_summary(engine, state, engine.decisions)["elasticity"]
    assert (shown["estimate"], shown["stderr"]) == priced[:2]
    # the view of a SKU of another partition reads that partition's pool: empty here
    elsewhere = sku_summary(engine, state, engine.decisions, {})["elasticity"]
    assert (elsewhere["estimate"], elsewhere["stderr"]) == state.elasticity.own_price_response()[:2]
