"""The worker's long-lived objects kept out of Python's full garbage collections.

CPython's cyclic collector scans every tracked object of the oldest generation in a full
collection, and the worker's in-memory models (the CTR weights, the preference factors) and
Faust's own structures live there. With 100 SKUs and 5,000 users a full collection already held
the event loop for 80–120 ms, once every few seconds under load (`benchmarks/latency.py
--mix`): every event waiting meanwhile, the p99 of order → decision was these pauses. A million
users' models would make each pause last seconds.

Here the survivors are moved, on a timer, to the permanent generation, which collections do not
scan (`gc.freeze`, an O(1) move). Reference counting still frees a frozen object that nothing
refers to; only a reference cycle whose objects were frozen is never collected. The young
generations are collected first, so only cycles that became garbage after surviving two
collections stay: a full collection of the worker found 0–179 garbage objects of any age
(against 150,000 tracked). Frozen objects are also not written to by the collector, so the
forked model checkpoint copies fewer pages.
"""

from __future__ import annotations

import gc

FREEZE_SECONDS = 10.0  # how often the survivors of the young collections are frozen
# A young collection every 50,000 allocations, not Python's 700: a batch's objects live until
# the batch is done, and at 700 they were scanned by several young collections first (10 % less
# worker CPU per event on the event mix; no change to the latency that showed).
THRESHOLDS = (50_000, 20, 10)


def collect_young_less_often() -> None:
    """Set the collector's thresholds to `THRESHOLDS`."""
    gc.set_threshold(*THRESHOLDS)


def freeze_survivors() -> int:
    """Collect the two young generations, then move every object still tracked to the
    permanent generation, out of reach of later collections; the objects it now holds."""
    gc.collect(1)
    gc.freeze()
    return gc.get_freeze_count()
