import math

import numpy as np

from realtime_mkt.models.elasticity import PRIOR_ELASTICITY, LogLogElasticity


def simulate(seed: int, days: int, truth: float = -1.8, cross: float = 0.5) -> LogLogElasticity:
    rng = np.random.default_rng(seed)
    model = LogLogElasticity()
    for _ in range(days):
        price = 20 * math.exp(rng.uniform(-0.08, 0.08))
        competitor = 20 * math.exp(rng.uniform(-0.1, 0.1))
        units = rng.poisson(30 * (price / 20) ** truth * (competitor / price) ** cross)
        model.learn(price, units, competitor)
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


def test_standard_error_shrinks_like_one_over_root_n():
    short = np.mean([simulate(s, 100).estimate()[1] for s in range(10)])
    long = np.mean([simulate(s, 400).estimate()[1] for s in range(10)])
    assert 1.6 < short / long < 2.4


def test_round_trips_through_its_compact_form():
    model = simulate(1, 20)
    assert LogLogElasticity.from_list(model.to_list()).estimate() == model.estimate()
