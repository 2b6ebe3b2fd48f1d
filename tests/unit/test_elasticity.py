import json
import math

import numpy as np
import pytest

from realtime_mkt.decision_log import DecisionLog
from realtime_mkt.engine import EngineConfig, SkuEngine
from realtime_mkt.models.elasticity import (
    PRICE_MEMORY_RATE,
    PRIOR_ELASTICITY,
    CategoryPriors,
    K,
    LogLogElasticity,
    prior_key,
)
from realtime_mkt.sku_state import SkuState
from realtime_mkt.streaming.app import sku_summary
from tests.helpers import EngineRun, catalog


def simulate(
    seed: int,
    days: int,
    truth: float = -1.8,
    cross: float = 0.5,
    matching: bool = False,
    remembers_prices: bool = True,
) -> LogLogElasticity:
    """Daily sales at a varying price; the competitor's price moves on its own, or (`matching`)
    always sits 3 % under ours."""
    rng = np.random.default_rng(seed)
    model = LogLogElasticity(remembers_prices=remembers_prices)
    for _ in range(days):
        price = 20 * math.exp(rng.uniform(-0.08, 0.08))
        competitor = 0.97 * price if matching else 20 * math.exp(rng.uniform(-0.1, 0.1))
        units = rng.poisson(30 * (price / 20) ** truth * (competitor / price) ** cross)
        model.learn(price, units, competitor, baseline=30.0)
    return model


def test_without_data_the_estimate_is_the_prior():
    estimate, stderr, cross = LogLogElasticity().estimate()
    assert (estimate, stderr, cross) == (PRIOR_ELASTICITY, 1.0, 0.0)


def test_recovers_the_true_elasticity_within_its_standard_error():
    results = [simulate(seed, days=200).estimate() for seed in range(40)]
    within_one = np.mean([abs(e + 1.8) <= se for e, se, _ in results])
    within_two = np.mean([abs(e + 1.8) <= 2 * se for e, se, _ in results])
    assert 0.55 <= within_one <= 0.9  # a calibrated standard error covers ~68 %
    assert within_two >= 0.85
    assert abs(np.mean([c for _, _, c in results]) - 0.5) < 0.25


def test_own_price_response_is_e_minus_x_within_its_standard_error():
    # demand = p^e · (competitor / p)^x: a 1 % higher own price moves units by e − x = −2.3 %
    models = [simulate(seed, days=200) for seed in range(40)]
    for model in models[:3]:
        e, _, x = model.estimate()
        response, _, cross = model.own_price_response()
        assert math.isclose(response, e - x) and cross == x
    within_two = np.mean(
        [abs(r + 2.3) <= 2 * se for r, se, _ in (m.own_price_response() for m in models)]
    )
    assert within_two >= 0.85
    stderr, response_stderr = models[0].estimate()[1], models[0].own_price_response()[1]
    assert response_stderr != stderr and response_stderr > 0


def test_the_data_response_undoes_the_priors_pull_toward_the_typical_response():
    # a response of −4.0 (e −3.6, x 0.4), far from the prior's −2.62: the posterior leans toward
    # the prior by a share its standard error sets, the days' own reading much less
    for days in (20, 30, 60):
        models = [simulate(seed, days=days, truth=-3.6, cross=0.4) for seed in range(60)]
        priced = np.array([m.own_price_response()[:2] for m in models])
        data = np.array([m.data_response() for m in models])
        assert abs(data[:, 0].mean() + 4.0) < 0.6 * abs(priced[:, 0].mean() + 4.0)
        assert (data[:, 1] > priced[:, 1]).all()  # the days alone are less sure
        assert np.mean(np.abs(data[:, 0] + 4.0) <= 2 * data[:, 1]) >= 0.9
    # without data the days tell nothing: the prior's mean, with an error past any use
    response, stderr = LogLogElasticity().data_response()
    assert response == PRIOR_ELASTICITY and stderr > 100


def test_against_a_competitor_that_matches_our_moves_the_response_is_e_alone():
    # the price ratio never moves, so a 1 % higher price moves units by e = −1.8 %; x is not
    # identified, and its prior spread must not stay in the response's error
    models = [simulate(seed, days=200, matching=True) for seed in range(40)]
    assert all(m.competitor_matches() for m in models)
    within_two = np.mean(
        [abs(r + 1.8) <= 2 * se for r, se, _ in (m.own_price_response() for m in models)]
    )
    assert within_two >= 0.85
    _, cov = models[0]._posterior()
    held_stderr = math.sqrt(cov[1, 1] + cov[2, 2] - 2 * cov[1, 2])  # e − x's, x unidentified
    response_stderr = models[0].own_price_response()[1]
    assert math.isclose(response_stderr, models[0].estimate()[1])
    assert response_stderr < 0.5 * held_stderr
    assert not any(simulate(seed, days=200).competitor_matches() for seed in range(10))
    assert not simulate(0, days=10, matching=True).competitor_matches()  # too few days to tell


def test_standard_error_shrinks_like_one_over_root_n():
    short = np.mean([simulate(s, 100).estimate()[1] for s in range(10)])
    long = np.mean([simulate(s, 400).estimate()[1] for s in range(10)])
    assert 1.6 < short / long < 2.4


def shifted_market(seed: int, baseline_tracks: bool, truth: float = -2.5) -> float:
    """Demand doubles half-way while the price rises 10 % (scarce stock after a shock), with
    ±5 % exploration throughout; the estimate of e − x, given a baseline that follows the level
    or one that stays where the level began."""
    rng = np.random.default_rng(seed)
    model = LogLogElasticity()
    for day in range(200):
        level = 20.0 if day < 100 else 40.0
        price = (20.0 if day < 100 else 22.0) * (1.05 if (day // 2) % 2 else 0.95)
        units = rng.poisson(level * (price / 20) ** truth)
        model.learn(price, units, None, baseline=level if baseline_tracks else 20.0)
    return model.own_price_response()[0]


def test_a_baseline_that_follows_the_level_keeps_a_demand_shift_out_of_the_estimate():
    tracked = [shifted_market(seed, baseline_tracks=True) for seed in range(10)]
    fixed = [shifted_market(seed, baseline_tracks=False) for seed in range(10)]
    assert abs(np.mean(tracked) + 2.5) < 0.3
    # the doubled demand at the higher price reads as a far weaker response (a rising curve,
    # before the price memory took up some of the shift along with the raised price)
    assert np.mean(fixed) > -2.0


def season_and_misjudged_level(seed: int, remembers_prices: bool, truth: float = -1.8) -> tuple:
    """Demand follows a 150-day season; prices wave ±15 % over 60 days with ±3 % exploration.
    The baseline is a level learned at the demand model's rate from sales divided by a price
    effect it misjudges (−3.5): it follows the season, and holds what of past prices' effect
    the misjudgement left in it."""
    rng = np.random.default_rng(seed)
    model = LogLogElasticity(remembers_prices=remembers_prices)
    level = 20.0
    for day in range(300):
        wave = 0.15 * math.sin(2 * math.pi * day / 60)
        price = 20.0 * math.exp(wave) * (1.03 if (day // 2) % 2 else 0.97)
        season = math.exp(0.4 * math.sin(2 * math.pi * day / 150 + 1.0))
        units = rng.poisson(20.0 * season * (price / 20.0) ** truth)
        model.learn(price, units, None, level)
        level += PRICE_MEMORY_RATE * (units / (price / 20.0) ** -3.5 - level)
    return model.own_price_response()


def test_the_prices_a_misjudged_level_remembers_do_not_mislead_the_estimate():
    remembered = [season_and_misjudged_level(seed, True) for seed in range(20)]
    plain = [season_and_misjudged_level(seed, False) for seed in range(20)]

    def covered(results: list[tuple[float, float, float]]) -> float:
        return float(np.mean([abs(e + 1.8) <= 2 * se for e, se, _ in results]))

    assert covered(remembered) >= 0.9
    assert covered(plain) <= 0.5  # the level's memory of prices is read as price response
    assert np.mean([abs(e + 1.8) for e, _, _ in remembered]) < 0.5 * np.mean(
        [abs(e + 1.8) for e, _, _ in plain]
    )


def misled_then_exploring(seed: int, forgetting: float, truth: float = -1.8) -> LogLogElasticity:
    """±5 % exploration; on day 100 demand doubles as the price is cut 20 %, and the baseline
    takes ten days to catch up (the forecast lags a jump), so the cut is credited with part of
    the jump; exploration goes on around the cut price for 160 days."""
    rng = np.random.default_rng(seed)
    model = LogLogElasticity()
    for day in range(260):
        level = 20.0 if day < 100 else 40.0
        baseline = level if day < 100 else 40.0 - 2.0 * max(0, 110 - day)
        price = (20.0 if day < 100 else 16.0) * (1.05 if (day // 2) % 2 else 0.95)
        units = rng.poisson(level * (price / 20) ** truth)
        model.learn(price, units, None, baseline, forgetting)
    return model


def test_forgetting_lets_new_days_outweigh_days_a_lagging_baseline_misled():
    forgetting = EngineConfig().elasticity_forgetting
    remembered = [misled_then_exploring(s, 1.0).own_price_response() for s in range(20)]
    forgotten = [misled_then_exploring(s, forgetting).own_price_response() for s in range(20)]

    def covered(results: list[tuple[float, float, float]]) -> float:
        return float(np.mean([abs(e + 1.8) <= 2 * se for e, se, _ in results]))

    assert covered(remembered) <= 0.1  # the misled days hold the estimate off the truth
    assert covered(forgotten) >= 0.6
    nearer = [abs(f[0] + 1.8) < abs(r[0] + 1.8) for f, r in zip(forgotten, remembered, strict=True)]
    assert np.mean(nearer) >= 0.9


def test_forgetting_bounds_the_days_the_estimate_counts():
    forgetting = EngineConfig().elasticity_forgetting
    memory = 1 / (1 - forgetting)
    rng = np.random.default_rng(3)
    model = LogLogElasticity()
    stderr = {}
    for day in range(1, 801):
        price = 20 * math.exp(rng.uniform(-0.08, 0.08))
        model.learn(price, rng.poisson(30 * (price / 20) ** -1.8), None, 30.0, forgetting)
        if day in (400, 800):
            stderr[day] = model.estimate()[1]
    assert model.n == 800
    assert math.isclose(model.xtx[0], memory, rel_tol=0.01)
    assert 0.8 < stderr[800] / stderr[400] < 1.2  # no longer shrinking like 1/√n (0.71)


def test_price_spread_is_the_forgetting_weighted_spread_of_ln_price():
    rng = np.random.default_rng(3)
    prices = 20.0 * np.exp(rng.normal(0.0, 0.05, 40))
    model, weights = LogLogElasticity(), 0.99 ** np.arange(39, -1, -1)
    assert model.price_spread() == (0.0, 0.0)
    for price in prices:
        model.learn(float(price), 10.0, None, 10.0, forgetting=0.99)
    logs = np.log(prices)
    mean = np.average(logs, weights=weights)
    spread, days = model.price_spread()
    assert days == pytest.approx(weights.sum())
    assert spread == pytest.approx(float(np.sum(weights * (logs - mean) ** 2)))
    # a price that stops moving: the spread fades with the days that had it
    for _ in range(60):
        model.learn(20.0, 10.0, None, 10.0, forgetting=0.99)
    assert model.price_spread()[0] < 0.6 * spread


def test_round_trips_through_its_compact_form():
    model = simulate(1, 20)
    restored = LogLogElasticity.from_list(json.loads(json.dumps(model.to_list())))
    assert restored.estimate() == model.estimate()
    assert restored.price_memory == model.price_memory is not None


def test_statistics_stored_before_the_price_memory_go_on_with_an_empty_column():
    plain = simulate(1, 60, remembers_prices=False)  # the memory's row and column stay 0
    k = K - 1
    old = [  # the same days as stored before the price memory: without its row and column
        [plain.xtx[K * i + j] for i in range(k) for j in range(k)],
        plain.xty[:k],
        plain.yty,
        plain.n,
        plain.prior_elasticity,
    ]
    restored = LogLogElasticity.from_list(old)
    assert restored.n == plain.n and restored.price_memory is None
    assert restored.xtx == plain.xtx and restored.xty == plain.xty
    assert restored.own_price_response() == plain.own_price_response()
    restored.learn(20.0, 30.0, None, 30.0)  # and learns on, its memory starting at this price
    assert restored.price_memory == pytest.approx(math.log(20.0))


def test_the_remembered_response_follows_each_new_day_and_prior():
    model = LogLogElasticity()
    first = model.own_price_response()
    assert model.own_price_response() == first
    model.prior_elasticity = -1.5  # as a catalog record sets a category's prior
    moved = model.own_price_response()
    assert (
        moved[0] > first[0]
        and moved == LogLogElasticity(prior_elasticity=-1.5).own_price_response()
    )
    model.learn(10.0, 40.0, None, 30.0)
    assert model.own_price_response() != moved
    stored = LogLogElasticity.from_list(model.to_list())
    assert stored.own_price_response() == model.own_price_response()


def test_statistics_stored_before_the_baseline_regressor_start_again_from_their_prior():
    old = [[1.0] * 9, [1.0] * 3, 1.0, 5, -3.1]
    model = LogLogElasticity.from_list(old)
    assert model.n == 0 and model.estimate()[0] == -3.1


def test_category_priors_pool_confident_estimates_only():
    priors = CategoryPriors(min_updates=3)
    assert priors.prior("toys") == PRIOR_ELASTICITY
    for estimate in (-3.0, -3.2, -3.1):
        priors.update("toys", estimate, stderr=0.2)
    priors.update("toys", -0.5, stderr=2.0)  # too uncertain to count
    assert abs(priors.prior("toys") + 3.1) < 0.05
    assert priors.prior("garden") == PRIOR_ELASTICITY
    priors.update("garden", math.nan, stderr=0.1)  # not a number: never pooled
    priors.update("garden", -2.0, stderr=math.nan)
    assert priors.pooled("garden") == (PRIOR_ELASTICITY, 0)


def test_category_priors_live_in_the_store_they_are_given():
    store: dict = {}
    CategoryPriors(store, min_updates=2).update("toys", -3.0, stderr=0.2)
    CategoryPriors(store, min_updates=2).update("toys", -3.4, stderr=0.2)
    assert store == {prior_key("toys"): [pytest.approx(-3.2), 2]}
    assert CategoryPriors(store, min_updates=2).prior("toys") == pytest.approx(-3.2)


def test_new_skus_start_from_their_category_prior():
    engine = SkuEngine()
    for _ in range(engine.category_priors.min_updates):
        engine.category_priors.update("toys", -3.3, stderr=0.1)
    run = EngineRun(engine)
    run.feed([("catalog", catalog("new")), ("catalog", catalog("other", category="garden"))])
    states = run.states()
    assert states["new"].elasticity.estimate()[0] == -3.3
    assert states["other"].elasticity.estimate()[0] == PRIOR_ELASTICITY


def test_the_sku_view_reports_the_response_that_prices_use():
    state = SkuState("s", elasticity=simulate(1, days=200))
    shown = sku_summary(SkuEngine(), state, DecisionLog())["elasticity"]
    response, stderr, _ = state.elasticity.own_price_response()
    assert (shown["estimate"], shown["stderr"]) == (response, stderr)
    assert shown["cross"] == state.elasticity.estimate()[2] != 0.0
    spread, days = state.elasticity.price_spread()
    assert spread > 0 and shown["price_spread"] == {
        "value": spread,
        "days": days,
        "explore_below": pytest.approx(0.01 * math.sqrt(days)),
    }
