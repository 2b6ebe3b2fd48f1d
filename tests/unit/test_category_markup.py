"""A category's list-price markups: the price its other SKUs' markups give a SKU's cost."""

import json
import math

import pytest

from realtime_mkt.engine import SkuEngine, peer_price, price_anchor
from realtime_mkt.policies.category_markup import (
    MIN_PEERS,
    CategoryMarkups,
    category_key,
    markup_of,
)
from realtime_mkt.sku_state import SkuState
from realtime_mkt.streaming.app import sku_summary
from tests.helpers import EngineRun, assert_valid, catalog, opening, priced_demand, replay


def test_the_peer_price_is_the_cost_at_the_other_skus_mean_markup():
    store: dict = {}
    markups = CategoryMarkups(store)
    parts = {sku: markup_of(price, 10.0) for sku, price in [("a", 20.0), ("b", 15.0), ("c", 18.0)]}
    for part in parts.values():
        markups.update("toys", None, part)
    # leave-one-out: "a" is priced by b's and c's markups (1.5 and 1.8), at its own cost
    assert markups.peer_price("toys", parts["a"], 4.0) == pytest.approx(4.0 * math.sqrt(1.5 * 1.8))
    # a SKU not in the sums yet sees all three
    assert markups.peer_price("toys", None, 10.0) == pytest.approx(
        10.0 * (2 * 1.5 * 1.8) ** (1 / 3)
    )
    assert store == {category_key("toys"): pytest.approx([3.0, math.log(2.0 * 1.5 * 1.8)])}


def test_a_sku_counts_once_and_too_few_peers_give_no_price():
    markups = CategoryMarkups()
    a, b = markup_of(20.0, 10.0), markup_of(15.0, 10.0)
    markups.update("toys", None, a)
    markups.update("toys", None, b)
    assert MIN_PEERS == 2 and markups.peer_price("toys", a, 10.0) is None  # one other SKU
    markups.update("toys", a, markup_of(30.0, 10.0))  # "a" repriced: its part replaced
    assert markups.sums("toys") == pytest.approx([2.0, math.log(1.5 * 3.0)])
    markups.update("toys", b, None)  # "b" lost its cost
    assert markups.sums("toys") == pytest.approx([1.0, math.log(3.0)])
    assert markups.peer_price("garden", None, 10.0) is None  # a category nobody is in


def test_only_positive_prices_and_costs_have_a_markup():
    assert markup_of(20.0, None) is None
    assert markup_of(20.0, 0.0) is None
    assert markup_of(0.0, 10.0) is None
    assert markup_of(20.0, 10.0) == pytest.approx(math.log(2.0))


def test_pricing_starts_from_the_list_price_blended_with_the_categorys_markups():
    engine = SkuEngine()
    # four SKUs of one category, list prices 1.6× their cost but "s" at 2× (same cost 10);
    # the partition's SKUs have told that such peers are nearer the optimum than list prices
    events = opening("s", 200)
    for peer in ("p1", "p2", "p3"):
        events += opening(peer, 200, list_price=16.0, min_price=11.0, max_price=30.0)
    for _ in range(40):
        engine.list_price_error.update_blend(None, [1.0, 0.09, 0.01, 0.0])
    states, outputs = replay(engine, events + priced_demand("s", range(20)))
    state = states["s"]
    peer = peer_price(state, engine.category_markups)
    assert peer == pytest.approx(16.0)  # the others' markup 1.6 at s's cost 10
    anchor = price_anchor(state, engine.list_price_error, engine.category_markups)
    assert anchor == engine.list_price_error.anchor(20.0, peer)
    assert 0.0 < anchor.list_share < 0.5 and 16.0 < anchor.price < 20.0
    prices = [o.value for o in outputs if o.topic == "price-adjustments" and o.key == "s"]
    assert prices
    last = prices[-1]
    assert_valid("price-adjustments.v1", last)
    assert last["anchor"] == {
        "price": pytest.approx(anchor.price, abs=1e-4),
        "error": pytest.approx(anchor.error, abs=1e-4),
        "list_share": pytest.approx(anchor.list_share, abs=1e-4),
    }
    assert last["list_price_error"] == pytest.approx(engine.list_price_error.value(), abs=1e-4)
    assert sku_summary(engine, state, engine.decisions)["pricing"]["anchor"] == last["anchor"]


def test_a_sku_that_changes_category_leaves_its_old_categorys_pools():
    engine = SkuEngine()
    run = EngineRun(engine)
    run.feed(opening("s", 200) + priced_demand("s", range(20)))
    assert engine.category_markups.sums("toys") == pytest.approx([1.0, math.log(2.0)])
    assert engine.category_responses.sums("toys")[0] == 1.0  # its estimate takes part
    run.feed([("catalog", catalog("s", category="garden", list_price=25.0))])
    assert engine.category_markups.sums("toys") == pytest.approx([0.0, 0.0])
    assert engine.category_responses.sums("toys") == pytest.approx([0.0, 0.0, 0.0])
    assert engine.category_markups.sums("garden") == pytest.approx([1.0, math.log(2.5)])


def test_a_skus_parts_are_stored_with_it_and_states_stored_before_stop_42_have_none():
    engine = SkuEngine()
    run = EngineRun(engine)
    run.feed(opening("s", 200) + opening("p1", 200) + opening("p2", 200))
    run.feed(priced_demand("s", range(20)))
    state = run.states()["s"]
    assert state.markup is not None and state.list_price_blend is not None
    stored = json.loads(json.dumps(state.to_dict()))
    again = SkuState.from_dict(stored)
    assert (again.markup, again.list_price_blend) == (state.markup, state.list_price_blend)
    del stored["mku"], stored["lpb"]  # as a stop-41 worker stored it
    older = SkuState.from_dict(stored)
    assert older.markup is None and older.list_price_blend is None
