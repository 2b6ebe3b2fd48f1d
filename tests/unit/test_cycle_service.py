from statistics import NormalDist

import numpy as np
import pytest

from realtime_mkt.policies.cycle_service import (
    POOL_RATE,
    RATE,
    Z_MAX,
    ClosedCycle,
    CyclePool,
    CycleService,
    pool_key,
    safety_correction,
)
from realtime_mkt.policies.restock import safety_factor


def closed(service: CycleService, day: int, stocked_out: bool, shifting: bool = False) -> None:
    if stocked_out:
        service.observe_stockout(shifting)
    service.close(day, 0.95)


def test_a_stockout_raises_z_and_a_clean_cycle_lowers_it():
    service = CycleService()
    closed(service, 1, stocked_out=True)
    assert service.offset == pytest.approx(RATE * 0.95)
    closed(service, 2, stocked_out=False)
    assert service.offset == pytest.approx(RATE * 0.95 - RATE * 0.05)
    assert (service.cycles, service.stockouts) == (2, 1)


def test_several_receipts_on_one_day_end_one_cycle():
    service = CycleService()
    service.observe_stockout(shifting=False)
    service.close(5, 0.95)
    service.close(5, 0.95)  # a second delivery the same day
    assert service.cycles == 1
    assert service.offset == pytest.approx(RATE * 0.95)


def test_a_stockout_while_the_level_shifts_is_left_to_the_mean():
    service = CycleService()
    closed(service, 1, stocked_out=True, shifting=True)
    assert service.offset == 0.0
    assert (service.cycles, service.stockouts) == (1, 1)
    closed(service, 2, stocked_out=True)  # the flag does not outlive its cycle
    assert service.offset == pytest.approx(RATE * 0.95)


def test_z_stays_between_zero_and_its_ceiling():
    service = CycleService()
    for day in range(100):
        closed(service, day, stocked_out=True)
    assert safety_factor(0.95) + service.offset == pytest.approx(Z_MAX)
    for day in range(100, 2000):
        closed(service, day, stocked_out=False)
    assert safety_factor(0.95) + service.offset == pytest.approx(0.0)


def test_round_trips_through_its_stored_form():
    service = CycleService()
    closed(service, 3, stocked_out=True)
    service.observe_stockout(shifting=True)
    assert CycleService.from_list(service.to_list()) == service


@pytest.mark.parametrize("true_spread", [0.6, 1.5])
def test_realised_cycle_service_converges_to_target_whatever_the_spread_error(true_spread):
    """Lead-time demand errors are `true_spread` times wider than the plan assumes: at the
    target's z a cycle stocks out with probability 1 − Φ(z / true_spread). The corrected z
    brings the long-run share of clean cycles to 95 % all the same."""
    rng = np.random.default_rng(1)
    service = CycleService()
    outcomes = []
    for day in range(6000):
        z = max(0.0, safety_factor(0.95) + service.offset)
        stocked_out = rng.random() > NormalDist().cdf(z / true_spread)
        outcomes.append(stocked_out)
        closed(service, day, stocked_out)
    uncorrected = 1 - NormalDist().cdf(safety_factor(0.95) / true_spread)
    assert abs(uncorrected - 0.05) > 0.02  # the plan alone misses the target
    assert np.mean(outcomes[1000:]) == pytest.approx(0.05, abs=0.005)


def test_close_reports_the_cycle_it_ended_and_whether_the_correction_learned_from_it():
    service = CycleService()
    service.observe_stockout(shifting=False)
    assert service.close(1, 0.95) == ClosedCycle(stocked_out=True, learned=True)
    assert service.close(1, 0.95) is None  # a second receipt that day
    assert service.close(2, 0.95) == ClosedCycle(stocked_out=False, learned=True)
    service.observe_stockout(shifting=True)
    assert service.close(3, 0.95) == ClosedCycle(stocked_out=True, learned=False)  # the mean's


def test_the_pool_learns_per_lead_time_in_its_store():
    store: dict = {}
    pool = CyclePool(store)
    pool.learn(2, stocked_out=True, service_level=0.95)
    pool.learn(2, stocked_out=False, service_level=0.95)
    pool.learn(7, stocked_out=False, service_level=0.95)
    assert pool.offset(2) == pytest.approx(POOL_RATE * (0.95 - 0.05))
    assert pool.offset(7) == pytest.approx(-POOL_RATE * 0.05)
    assert pool.offset(3) == 0.0
    assert store == {pool_key(2): pool.offset(2), pool_key(7): pool.offset(7)}
    assert CyclePool(store).offset(2) == pool.offset(2)  # state lives in the store alone


def test_the_sku_and_pooled_corrections_together_keep_z_between_zero_and_its_ceiling():
    pool = CyclePool()
    for _ in range(1000):
        pool.learn(2, stocked_out=True, service_level=0.95)
    assert safety_factor(0.95) + pool.offset(2) == pytest.approx(Z_MAX)
    service = CycleService()
    closed(service, 1, stocked_out=True)
    assert safety_factor(0.95) + safety_correction(service, pool.offset(2), 0.95) == pytest.approx(
        Z_MAX
    )
    service.offset = -2 * Z_MAX
    assert safety_factor(0.95) + safety_correction(service, 0.0, 0.95) == pytest.approx(0.0)


@pytest.mark.parametrize("true_spread", [0.6, 1.5])
def test_pooling_finds_a_spread_error_shared_by_a_lead_time_in_fewer_cycles(true_spread):
    """Ten SKUs of one lead time whose lead-time demand is `true_spread` times as wide as
    planned: after 20 cycles each, their mean z is nearer the z that stocks out one cycle in
    twenty (Φ⁻¹(0.95) · true_spread) with the pooled correction than with their own alone
    (the gap averaged over 30 runs)."""
    rng = np.random.default_rng(0)
    right_z = safety_factor(0.95) * true_spread

    def gap(pooled: bool) -> float:
        pool, skus = CyclePool(), [CycleService() for _ in range(10)]

        def z(service: CycleService) -> float:
            shared = pool.offset(2) if pooled else 0.0
            return safety_factor(0.95) + safety_correction(service, shared, 0.95)

        for day in range(20):
            for service in skus:
                stocked_out = bool(rng.random() > NormalDist().cdf(z(service) / true_spread))
                closed(service, day, stocked_out)
                if pooled:
                    pool.learn(2, stocked_out, 0.95)
        return abs(np.mean([z(service) for service in skus]) - right_z)

    alone = np.mean([gap(pooled=False) for _ in range(30)])
    pooled = np.mean([gap(pooled=True) for _ in range(30)])
    assert pooled < 0.6 * alone
