import math

import pytest

from realtime_mkt.policies.restock import RestockParams, critical_ratio, plan, safety_factor


def test_newsvendor_closed_form_order_up_to():
    # demand N(120, 10) per period, holding 2, shortage 18 -> S* = 132.8155 (stockpyl); the
    # period at risk is the one-day lead time, and nothing is due after it (R → 0)
    params = RestockParams(lead_time_days=1, review_days=1e-9, service_level=critical_ratio(18, 2))
    levels = plan(mean=120, std=10, params=params, inventory_position=0)
    assert levels.order_up_to == pytest.approx(132.8155, abs=1e-4)


def test_levels_follow_lead_time_and_review_period():
    params = RestockParams(lead_time_days=7, review_days=1, service_level=0.95)
    levels = plan(mean=20, std=6, params=params, inventory_position=1000)
    safety = 1.6448536 * 6 * math.sqrt(7)  # continuous review: only the lead time is at risk
    assert levels.safety_stock == pytest.approx(safety, rel=1e-6)
    assert levels.order_up_to == pytest.approx(20 * 8 + safety, rel=1e-6)
    assert levels.reorder_point == pytest.approx(20 * 7 + safety, rel=1e-6)
    assert levels.quantity == 0  # far above the reorder point


def test_orders_up_to_level_rounded_up_to_multiple():
    params = RestockParams(lead_time_days=2, review_days=1, service_level=0.95, order_multiple=12)
    levels = plan(mean=10, std=0, params=params, inventory_position=5)
    assert levels.order_up_to == pytest.approx(30)
    assert levels.quantity == 36  # 25 needed, rounded up to 3 cases of 12
    assert levels.quantity % 12 == 0


def test_orders_exactly_at_reorder_point_but_not_above():
    params = RestockParams(lead_time_days=2, review_days=1, service_level=0.95)
    assert plan(10, 0, params, inventory_position=20).quantity == 10
    assert plan(10, 0, params, inventory_position=21).quantity == 0


def test_no_demand_means_no_order():
    params = RestockParams(lead_time_days=3)
    assert plan(0, 0, params, inventory_position=-5).quantity == 0


def test_safety_factor_of_95_percent():
    assert safety_factor(0.95) == pytest.approx(1.644854, abs=1e-6)
