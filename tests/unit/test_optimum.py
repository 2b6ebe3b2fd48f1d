"""The posterior mean of ln p* that pricing targets (`optimum.posterior_log_optimum`)."""

import math

import numpy as np
import pytest

from realtime_mkt.policies.optimum import optimum_price, optimum_spread, posterior_log_optimum


def integrated_over_the_response(cost, elasticity, stderr, list_price, list_price_error):
    """The same mean computed the other way round: over e on a fine grid (e < −1), each value of
    ln p*(e) weighted by the estimate's normal density and the list price's likelihood."""
    e = np.linspace(elasticity - 8 * stderr, -1 - 1e-9, 400_001)
    ln_optimum = np.log(cost * e / (1 + e))
    log_weight = (
        -0.5 * ((e - elasticity) / stderr) ** 2
        - 0.5 * ((math.log(list_price) - ln_optimum) / list_price_error) ** 2
    )
    weight = np.exp(log_weight - log_weight.max())
    return float((weight * ln_optimum).sum() / weight.sum())


def linearised(cost, elasticity, stderr, list_price, list_price_error):
    """Pricing's weighing before stop 37: ln L and ln p*(ê) by their precisions."""
    spread = optimum_spread(elasticity, stderr)
    weight = list_price_error**2 / (list_price_error**2 + spread**2)
    ln_list = math.log(list_price)
    return ln_list + weight * (math.log(optimum_price(cost, elasticity)) - ln_list)


@pytest.mark.parametrize(
    "case",
    [
        (10.0, -3.0, 0.6, 15.0, 0.1),  # the list price at the estimate's optimum
        (10.0, -3.0, 0.6, 20.0, 0.1),  # above it
        (10.0, -4.0, 0.3, 11.5, 0.1),  # below it
        (10.0, -2.0, 0.5, 25.0, 0.15),
        (10.0, -1.5, 0.3, 30.0, 0.1),  # near e = −1, where p* runs off
        (4.0, -2.6, 1.41, 6.0, 0.18),  # the prior alone, a mispriced market's σ_L
    ],
)
def test_the_posterior_mean_over_the_optimum_is_the_one_over_the_response(case):
    assert posterior_log_optimum(*case) == pytest.approx(
        integrated_over_the_response(*case), abs=1e-4
    )


def test_a_precise_estimate_of_elastic_demand_is_weighed_as_the_linearisation_says():
    # e = −4 ± 0.1: p* moves 0.8 % per SE, ln p* is as good as linear in e over that
    case = (10.0, -4.0, 0.1, 12.0, 0.1)
    assert posterior_log_optimum(*case) == pytest.approx(linearised(*case), abs=1e-3)


def test_the_linearisation_misweighs_an_uncertain_estimate():
    # e = −3 ± 0.6 and σ_L = 0.1 weigh equally when linearised. A list price of 20 sits at
    # e = −2, 1.7 SE toward −1; there p* climbs fast with e, so the estimate supports a price
    # near 20 more than its linearised spread says, and the target stays nearer the list price.
    case = (10.0, -3.0, 0.6, 20.0, 0.1)
    assert math.log(15) < linearised(*case) < posterior_log_optimum(*case) < math.log(20)
    assert linearised(*case) == pytest.approx((math.log(15) + math.log(20)) / 2)


def test_an_exact_estimate_or_an_exact_list_price_decides_alone():
    assert posterior_log_optimum(10.0, -3.0, 0.0, 20.0, 0.1) == pytest.approx(math.log(15))
    assert posterior_log_optimum(10.0, -3.0, 0.6, 20.0, 0.0) == pytest.approx(math.log(20))


def test_an_estimate_and_a_list_price_far_apart_still_get_an_answer_between_them():
    # the list price 5× the optimum and 16 of its own errors off, the estimate sure of itself
    ln_mean = posterior_log_optimum(10.0, -2.6, 0.1, 81.25, 0.1)
    assert math.log(16.25) < ln_mean < math.log(81.25)
    assert ln_mean == pytest.approx(
        integrated_over_the_response(10.0, -2.6, 0.1, 81.25, 0.1), abs=1e-2
    )


def test_an_estimate_and_a_list_price_too_precise_to_multiply_get_the_linearised_answer():
    # found by the property test in test_pricing: σ_L² · s² underflows to 0, and the grid's
    # standard deviation with it
    tiny = 2.4216991875227297e-123
    target = posterior_log_optimum(10.0, -2.0, tiny, 1.0, tiny)
    assert math.isfinite(target)
    assert math.log(1.0) < target < math.log(optimum_price(10.0, -2.0))
