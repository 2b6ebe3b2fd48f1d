"""The SKU engine takes any stream of valid inputs, read under any closing bound, without
failing, and every decision it makes validates: a valid event that raised would be
dead-lettered, and its data lost to the models."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_mkt.decisions import positive_price
from realtime_mkt.engine import MAX_PRICE_FACTOR, SkuEngine, price_factor, sku_signal, tick
from realtime_mkt.events import RejectedEvent, format_time
from realtime_mkt.models.daily_demand import day_of
from realtime_mkt.streaming.read_progress import EARLIEST
from tests.helpers import (
    DAY,
    T0,
    EngineRun,
    assert_valid,
    catalog,
    demand_history,
    inventory,
    order,
)

money = st.floats(min_value=0.01, max_value=1e5, allow_nan=False)


@st.composite
def catalogs(draw: st.DrawFn) -> dict:
    """A catalog record anywhere in its schema's ranges (prices ordered as `decode` asks)."""
    min_price = draw(money)
    list_price = min_price * draw(st.floats(min_value=1, max_value=3))
    max_price = list_price * draw(st.floats(min_value=1, max_value=3))
    record = catalog(
        "s",
        unit_cost=draw(money),
        min_price=min_price,
        list_price=list_price,
        max_price=max_price,
        lead_time_days=draw(st.floats(min_value=0, max_value=365)),
        review_days=draw(st.floats(min_value=0.01, max_value=365)),
        service_level=draw(st.floats(min_value=0.501, max_value=0.999)),
        order_multiple=draw(st.integers(min_value=1, max_value=1000)),
    )
    if draw(st.booleans()):
        record["map_price"] = max_price * draw(st.floats(min_value=0.01, max_value=1))
    return record


step = st.tuples(
    st.sampled_from(["placed", "cancelled", "returned", "snapshot", "receipt", "adjustment",
                     "list", "competitor", "cost", "tick", "click", "catalog"]),
    st.floats(min_value=-0.3, max_value=1.5),  # days after the previous event (some go back)
    st.integers(min_value=1, max_value=100_000),  # units
    st.floats(min_value=1e-4, max_value=1e6, allow_nan=False),  # a price
    # the closing bound it is read under, in days from its own (None: none; -99: not heard of)
    st.one_of(st.none(), st.just(-99), st.integers(min_value=-40, max_value=2)),
)  # fmt: skip


def inputs_of(record: dict, steps: list[tuple]) -> list[tuple[str, dict, int | None]]:
    """The topic and value of each step, at times that mostly move forward, and the closing
    bound it is read under."""
    inputs: list[tuple[str, dict, int | None]] = [("catalog", record, None)]
    ts = T0
    for i, (kind, days, units, price, behind) in enumerate(steps):
        ts += days * DAY
        bound = None if behind is None else EARLIEST if behind == -99 else day_of(ts) + behind
        at = format_time(ts)
        if kind in ("placed", "cancelled", "returned"):
            value = order(f"o{i}", ts, [("s", units)], status=kind)
            value["lines"][0]["unit_price"] = max(round(price, 2), 0.01)
            inputs.append(("orders", value, bound))
        elif kind in ("snapshot", "receipt", "adjustment"):
            quantity = units if kind != "adjustment" else units - 50_000
            inputs.append(("inventory", inventory(f"i{i}", ts, "s", kind, quantity), bound))
        elif kind == "tick":
            inputs.append(("sku-ticks", tick("s", ts), bound))
        elif kind == "click":
            click = {"event_id": f"c{i}", "occurred_at": at, "sku_id": "s", "action": "click"}
            inputs.append(("sku-signals", sku_signal(click), bound))
        elif kind == "catalog":
            inputs.append(("catalog", {**record, "unit_cost": price}, bound))
        else:
            change = {"event_id": f"p{i}", "occurred_at": at, "sku_id": "s", "kind": kind}
            inputs.append(
                ("price-changes", {**change, "price": price, "competitor_id": "r"}, bound)
            )
    return inputs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=catalogs(), steps=st.lists(step, min_size=20, max_size=120))
def test_any_valid_stream_is_taken_and_every_decision_validates(record, steps):
    run = EngineRun(SkuEngine())
    for topic, value, bound in inputs_of(record, steps):
        try:
            outputs = run.feed([(topic, value)], closing_bound=bound)
        except RejectedEvent:  # invalid as drawn (e.g. a competitor price change needs an id)
            continue
        for output in outputs:
            assert_valid(f"{output.topic}.v1", output.value)
            if output.topic == "restock-requests":  # reorder at s, order up to S, in multiples
                r = output.value
                assert r["inventory_position"] <= r["reorder_point"] + 1e-6
                assert r["quantity"] > 0 and r["quantity"] % r["order_multiple"] == 0
                assert r["inventory_position"] + r["quantity"] >= r["order_up_to"] - 1e-3


def test_a_price_too_small_for_four_decimals_keeps_four_significant_digits():
    # found by the test above: an overstock markdown of a 4.00 SKU asked for a price that
    # rounded to a target_price of 0.0, which the schema (and the pricing engine) would refuse
    assert positive_price(0.00018) == 0.0002
    assert positive_price(0.000042) == 4.2e-05
    assert positive_price(1.234567e-7) == 1.235e-7
    assert positive_price(12.345678) == 12.3457


def test_a_mistyped_list_price_moves_forecast_demand_tenfold_at_most():
    # found by the test above: a list price of 0.0001 on a 1.00 SKU had restock ask for 10^16
    run = EngineRun(SkuEngine())
    run.feed([("catalog", catalog("s")), *demand_history("s", [10] * 10)])
    state = run.states()["s"]
    assert state.elasticity.own_price_response()[0] < -1
    assert price_factor(state, 0.0001) == pytest.approx(MAX_PRICE_FACTOR)
    assert price_factor(state, 1e9) == pytest.approx(1 / MAX_PRICE_FACTOR)
    assert 1 < price_factor(state, 18.0) < MAX_PRICE_FACTOR  # 10 % off: the estimate's own
