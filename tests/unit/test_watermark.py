"""Under an exact watermark, every sale and click counts in its own day, however the orders and
clicks partitions' reads interleave (`streaming/read_progress.py`, `engine.closing_day`)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from realtime_mkt.engine import EngineConfig, SkuEngine, sku_signal, tick
from realtime_mkt.events import format_time
from realtime_mkt.models.daily_demand import day_of
from realtime_mkt.streaming.read_progress import EARLIEST
from tests.helpers import DAY, T0, EngineRun, opening, order

DAYS = 12  # young enough that the level is the plain mean of the days learned

partition = st.lists(
    st.tuples(st.floats(min_value=0, max_value=DAYS - 1e-3), st.integers(0, 20)),
    min_size=1,
    max_size=40,
).map(sorted)  # (day and fraction, units; 0: a click) in event-time order, as a service writes them


def bound(newest: list[int | None], left: list[int]) -> int | None:
    """The earliest day whose orders or clicks may still come: over the partitions not read to
    their end, the newest day read (a partition not read yet holds every day)."""
    holds = [EARLIEST if n is None else n for n, rest in zip(newest, left, strict=True) if rest]
    return min(holds) if holds else None


def read_of(at: float, units: int, name: str) -> tuple[str, dict]:
    """The record of a sale of `units` (0: a click) at day and fraction `at`."""
    ts = T0 + at * DAY
    if units:
        return ("orders", order(name, ts, [("sku-1", units)]))
    click = {"event_id": name, "occurred_at": format_time(ts), "sku_id": "sku-1", "action": "click"}
    return ("sku-signals", sku_signal(click))


def learning_only() -> EngineRun:
    """An engine run of one SKU whose decisions leave its price alone: what it learns of each
    day depends only on the day's sales and clicks."""
    run = EngineRun(SkuEngine(EngineConfig(dynamic_pricing=False, promotions=False)))
    run.feed(opening("sku-1", 1_000_000))
    return run


@settings(max_examples=150, deadline=None)
@given(partitions=st.lists(partition, min_size=2, max_size=3), picks=st.lists(st.integers(0, 2)))
def test_every_sale_and_click_counts_in_its_own_day_however_partitions_interleave(
    partitions, picks
):
    named = [[(*r, f"p{i}-{j}") for j, r in enumerate(p)] for i, p in enumerate(partitions)]
    records = sorted(r for p in named for r in p)
    assume(any(units for _, units, _ in records))
    run = learning_only()
    left = [list(p) for p in named]
    newest: list[int | None] = [None] * len(left)
    picks = iter(picks)
    while any(left):
        choice = next(picks, 0) % len(left)
        p = choice if left[choice] else next(i for i, rest in enumerate(left) if rest)
        record = left[p].pop(0)
        day = day_of(T0 + record[0] * DAY)
        newest[p] = day if newest[p] is None else max(newest[p], day)
        # as in the worker, a partition is read to its end only after its last record
        unread = [len(rest) + (i == p) for i, rest in enumerate(left)]
        run.feed([read_of(*record)], closing_bound=bound(newest, unread))
    in_order = learning_only()  # every record read in event-time order
    in_order.feed([read_of(*record) for record in records])
    last_tick = [("sku-ticks", tick("sku-1", T0 + DAYS * DAY))]  # every partition read
    run.feed(last_tick)
    in_order.feed(last_tick)
    assert not any(run.late)
    state, expected = run.states()["sku-1"], in_order.states()["sku-1"]
    first = min(int(at) for at, units, _ in records if units)
    assert state.demand.n == state.clicks.n == DAYS - first
    # every click counted in a closed day (those before the first sale's day in that day)
    clicks = sum(units == 0 for _, units, _ in records)
    assert state.clicks.level == pytest.approx(clicks / (DAYS - first))
    for model, want in [(state.demand, expected.demand), (state.clicks, expected.clicks)]:
        assert flat(model.to_list()) == pytest.approx(flat(want.to_list()))


def flat(values: list) -> list:
    """A stored model's numbers, its nested lists flattened."""
    return [v for value in values for v in (flat(value) if isinstance(value, list) else [value])]
