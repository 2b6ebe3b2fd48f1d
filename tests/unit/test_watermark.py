"""Under an exact watermark, every sale counts in its own day, however the orders partitions'
reads interleave (`streaming/orders_progress.py`, `engine.closing_day`)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_mkt.engine import tick
from realtime_mkt.models.daily_demand import day_of
from realtime_mkt.streaming.orders_progress import EARLIEST
from tests.helpers import DAY, T0, EngineRun, opening, order

DAYS = 12  # young enough that the level is the plain mean of the days learned

partition = st.lists(
    st.tuples(st.floats(min_value=0, max_value=DAYS - 1e-3), st.integers(1, 20)),
    min_size=1,
    max_size=40,
).map(sorted)  # (day and fraction, units) in event-time order, as an order service writes them


def bound(newest: list[int | None], left: list[int]) -> int | None:
    """The earliest day whose orders may still come: over the partitions not read to their end,
    the newest day read (a partition not read yet holds every day)."""
    holds = [EARLIEST if n is None else n for n, rest in zip(newest, left, strict=True) if rest]
    return min(holds) if holds else None


@settings(max_examples=150, deadline=None)
@given(partitions=st.lists(partition, min_size=2, max_size=3), picks=st.lists(st.integers(0, 2)))
def test_every_sale_counts_in_its_own_day_however_partitions_interleave(partitions, picks):
    run = EngineRun()
    run.feed(opening("sku-1", 1_000_000))
    left = [list(p) for p in partitions]
    newest: list[int | None] = [None] * len(left)
    picks = iter(picks)
    n = 0
    while any(left):
        choice = next(picks, 0) % len(left)
        p = choice if left[choice] else next(i for i, rest in enumerate(left) if rest)
        at, units = left[p].pop(0)
        ts = T0 + at * DAY
        newest[p] = day_of(ts) if newest[p] is None else max(newest[p], day_of(ts))
        sale = order(f"o{n}", ts, [("sku-1", units)])
        # as in the worker, a partition is read to its end only after its last record
        unread = [len(rest) + (i == p) for i, rest in enumerate(left)]
        run.feed([("orders", sale)], closing_bound=bound(newest, unread))
        n += 1
    run.feed([("sku-ticks", tick("sku-1", T0 + DAYS * DAY))])  # every partition read
    assert not any(run.late)
    demand = run.states()["sku-1"].demand
    sold = [0] * DAYS
    for at, units in (sale for p in partitions for sale in p):
        sold[int(at)] += units
    first = min(int(at) for p in partitions for at, _ in p)
    assert demand.n == DAYS - first
    assert demand.level == pytest.approx(sum(sold) / (DAYS - first))
