"""The worker's survivors are frozen out of full collections, its young garbage collected first
(`streaming/heap.py`)."""

import gc
import weakref

import pytest

from realtime_mkt.streaming.heap import THRESHOLDS, collect_young_less_often, freeze_survivors


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture()
def frozen_undone():
    yield
    gc.unfreeze()


def test_survivors_are_frozen_and_young_garbage_cycles_collected_first(frozen_undone):
    kept = Node()
    garbage = Node()
    garbage.other = Node()
    garbage.other.other = garbage  # a cycle: only the collector frees it
    gone = weakref.ref(garbage)
    del garbage
    frozen = freeze_survivors()
    assert gone() is None
    assert not any(o is kept for o in gc.get_objects())  # the permanent generation is not scanned
    assert frozen == gc.get_freeze_count() > 0


def test_young_collections_come_after_the_set_number_of_allocations():
    before = gc.get_threshold()
    try:
        collect_young_less_often()
        assert gc.get_threshold() == THRESHOLDS
    finally:
        gc.set_threshold(*before)
