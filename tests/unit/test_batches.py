"""Applying a batch of keyed events: grouping, ordering, duplicates and a failing event."""

from __future__ import annotations

import json

import pytest

from realtime_mkt.engine import SkuEngine
from realtime_mkt.events import InputEvent, decode
from realtime_mkt.sku_state import SkuState
from realtime_mkt.streaming.batches import apply_in_order, by_key

CATALOG = {
    "sku_id": "sku-1",
    "category": "garden",
    "unit_cost": 10.0,
    "list_price": 20.0,
    "min_price": 12.0,
    "max_price": 40.0,
    "lead_time_days": 3,
}


def line(n: int, sku: str = "sku-1", quantity: int = 1) -> InputEvent:
    value = {
        "event_id": f"o-{n}#0",
        "occurred_at": f"2026-03-0{1 + n // 10}T10:{n % 10:02d}:00Z",
        "order_id": f"o-{n}",
        "user_id": "u-1",
        "status": "placed",
        "sku_id": sku,
        "quantity": quantity,
        "unit_price": 20.0,
    }
    return decode("order-lines", sku.encode(), json.dumps(value).encode())


def catalog() -> InputEvent:
    return decode("catalog", b"sku-1", json.dumps(CATALOG).encode())


def stored_after(events: list[InputEvent]) -> dict:
    """The state the engine reaches applying `events` one at a time, as stored in the table."""
    engine, state = SkuEngine(), None
    for event in events:
        state = engine.apply(state, event).state
    assert state is not None
    return state.to_dict()


def test_by_key_groups_in_arrival_order():
    items = [(n, line(n, sku)) for n, sku in enumerate(["a", "b", "a", "c", "b", "a"])]
    groups = by_key(items, "sku_id")
    assert list(groups) == ["a", "b", "c"]
    assert [tag for tag, _ in groups["a"]] == [0, 2, 5]
    assert [tag for tag, _ in groups["b"]] == [1, 4]


def test_a_batch_reaches_the_state_of_its_events_applied_one_by_one():
    events = [catalog(), *(line(n, quantity=1 + n % 3) for n in range(25))]
    run = apply_in_order(lambda: None, list(enumerate(events)), SkuEngine().apply)
    assert not run.failures
    assert [tag for tag, _, _ in run.outcomes] == list(range(len(events)))
    assert run.state is not None
    assert run.state.to_dict() == stored_after(events)


def test_only_duplicates_leave_nothing_to_store():
    stored = stored_after([catalog(), line(1), line(2)])
    run = apply_in_order(
        lambda: SkuState.from_dict(stored), [("x", line(1)), ("y", line(2))], SkuEngine().apply
    )
    assert [outcome.duplicate for _, _, outcome in run.outcomes] == [True, True]
    assert run.state is None


def test_a_failing_event_changes_nothing_and_the_others_still_apply():
    engine = SkuEngine()
    events = [catalog(), line(1, quantity=2), line(2, quantity=5), line(3, quantity=1)]

    def apply(state: SkuState | None, event: InputEvent):
        outcome = engine.apply(state, event)
        if event.value.get("quantity") == 5:  # a bug that strikes after changing the state
            raise RuntimeError("boom")
        return outcome

    run = apply_in_order(lambda: None, list(enumerate(events)), apply)
    assert [(tag, str(exc)) for tag, exc in run.failures] == [(2, "boom")]
    assert [tag for tag, _, _ in run.outcomes] == [0, 1, 3]
    assert run.state is not None
    assert run.state.to_dict() == stored_after([events[0], events[1], events[3]])
    assert run.state.net_stock == -3


@pytest.mark.parametrize("fail_first", [True, False])
def test_a_failure_rebuilds_from_the_stored_state(fail_first: bool):
    stored = stored_after([catalog(), line(1)])
    loads = []

    def initial() -> SkuState:  # a fresh read of the table, as the worker's
        loads.append(1)
        return SkuState.from_dict(json.loads(json.dumps(stored)))

    engine = SkuEngine()
    events = [line(2), line(3)]
    bad, good = events if fail_first else events[::-1]

    def apply(state, event):
        outcome = engine.apply(state, event)
        if event is bad:
            raise ValueError("bug")
        return outcome

    run = apply_in_order(initial, list(zip("ab", events, strict=True)), apply)
    assert len(run.failures) == 1 and len(loads) == 2
    assert run.state is not None
    assert run.state.to_dict() == stored_after([catalog(), line(1), good])
