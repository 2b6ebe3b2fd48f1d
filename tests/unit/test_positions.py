"""Duplicate detection by read positions and origins, and by event id (README *Duplicates*)."""

import json

from realtime_mkt.engine import SkuEngine, order_lines
from realtime_mkt.events import checked
from realtime_mkt.positions import Origin, Position, ReadPositions
from realtime_mkt.sku_state import (
    FINGERPRINT_CHARS,
    RECENT_IDS,
    RecentIds,
    SkuState,
    event_fingerprint,
)
from tests.helpers import T0, opening, order


def test_a_redelivered_record_is_dropped_however_many_came_after_it():
    seen = ReadPositions()
    assert not any(seen.seen_before(Position("inventory/1", o), None) for o in range(500))
    assert seen.seen_before(Position("inventory/1", 3), None)  # a redelivery, far back
    assert seen.seen_before(Position("inventory/1", 499), None)
    assert not seen.seen_before(Position("inventory/2", 3), None)  # another partition
    assert not seen.seen_before(Position("inventory/1", 500), None)


def test_the_event_id_window_keeps_the_last_ids_and_survives_storing():
    recent = RecentIds()
    assert not any(recent.seen_before(f"e{i}") for i in range(RECENT_IDS + 10))
    stored = RecentIds.from_stored(json.loads(json.dumps(recent.ids)))
    assert len(stored.ids) == RECENT_IDS * FINGERPRINT_CHARS
    assert all(stored.seen_before(f"e{i}") for i in range(10, RECENT_IDS + 10))
    assert not stored.seen_before("e9")  # pushed out of the window


def test_a_fingerprint_spanning_two_others_is_not_a_match():
    target = event_fingerprint("c")
    # two stored fingerprints whose characters happen to hold "c"'s across their boundary
    window = "abc" + target + "0" * (FINGERPRINT_CHARS - 3)
    recent = RecentIds(window)
    assert not recent.seen_before("c")
    assert recent.ids == window + target
    assert recent.seen_before("c")


def test_windows_stored_as_integers_by_earlier_versions_are_read():
    ints = [int(event_fingerprint(f"e{i}"), 16) for i in range(5)]
    recent = RecentIds.from_stored(ints)
    assert all(recent.seen_before(f"e{i}") for i in range(5))
    assert not recent.seen_before("e5")


def test_parts_of_one_record_are_told_apart():
    seen = ReadPositions()
    assert not seen.seen_before(None, Origin("orders/0", 7, 0, 1))
    assert not seen.seen_before(None, Origin("orders/0", 7, 1, 1))  # the order's next line
    assert seen.seen_before(None, Origin("orders/0", 7, 0, 1))
    assert seen.seen_before(None, Origin("orders/0", 7, 1, 1))


def test_a_line_sent_again_by_a_later_generation_is_dropped_an_earlier_ones_is_not():
    seen = ReadPositions()
    for offset in range(10, 20):  # generation 3 applied lines of orders/2 up to offset 19
        assert not seen.seen_before(None, Origin("orders/2", offset, 0, 3))
    # generation 4 read orders/2 again from its committed offset 15: repeats
    assert seen.seen_before(None, Origin("orders/2", 15, 0, 4))
    assert seen.seen_before(None, Origin("orders/2", 19, 0, 4))
    # a line generation 2 forwarded, which waited in order-lines behind those: new
    assert not seen.seen_before(None, Origin("orders/2", 8, 0, 2))
    assert seen.origins["orders/2"] == [19, 0, 3]  # the newest origin stays
    assert not seen.seen_before(None, Origin("orders/2", 20, 0, 4))
    assert seen.origins["orders/2"] == [20, 0, 4]


def test_a_forwarded_line_is_checked_by_where_it_was_read_and_what_it_was_made_of():
    seen = ReadPositions()
    line = (Position("order-lines/1", 40), Origin("orders/3", 9, 0, 5))
    assert not seen.seen_before(*line)
    assert seen.seen_before(*line)  # redelivered from order-lines
    assert seen.seen_before(Position("order-lines/1", 41), Origin("orders/3", 9, 0, 6))  # resent
    assert ReadPositions.from_list(json.loads(json.dumps(seen.to_list()))) == seen
    assert ReadPositions.from_list(None) == ReadPositions()  # a state stored before positions


def test_the_engine_drops_a_redelivered_order_line_beyond_the_event_id_window():
    engine, state = SkuEngine(), None
    for topic, value in opening("sku-1", 1000):
        state = engine.apply(state, checked(topic, value["sku_id"].encode(), value)).state
    lines = []
    for i in range(3 * RECENT_IDS):
        (line,) = order_lines(order(f"o{i}", T0 + 60 + i, [("sku-1", 1)]))
        line["origin"] = {"partition": 0, "offset": i, "part": 0, "generation": 1}
        lines.append(checked("order-lines", b"sku-1", line))
    for line in lines:
        state = engine.apply(state, line).state
    stored = SkuState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert stored.net_stock == 1000 - 3 * RECENT_IDS
    for line in lines[:RECENT_IDS]:  # resent by generation 2, past the event-id window
        resent = checked(
            "order-lines",
            b"sku-1",
            {**line.value, "origin": {**line.value["origin"], "generation": 2}},
        )
        outcome = engine.apply(stored, resent)
        assert outcome.duplicate and not outcome.outputs
    assert stored.net_stock == 1000 - 3 * RECENT_IDS


def test_an_earlier_generations_line_is_a_repeat_from_where_the_later_one_began_reading():
    # generation 2 read orders/0 from 40, sent its lines through order-lines and was killed
    # with its commit at 100; generation 3 read orders/0 again from 100 and applied the lines
    # in place, up to 110, before generation 2's lines of orders 95-110 came out of order-lines
    seen = ReadPositions()
    for offset in range(100, 111):
        assert not seen.seen_before(None, Origin("orders/0", offset, 0, 3, 100))
    waiting = [
        (Position("order-lines/2", 500 + n), Origin("orders/0", 95 + n, 0, 2, 40))
        for n in range(16)
    ]
    repeats = [seen.seen_before(*line) for line in waiting]
    assert repeats == [False] * 5 + [True] * 11  # 95-99: read by generation 2 only
    assert seen.origins["orders/0"] == [110, 0, 3, 100]
    assert ReadPositions.from_list(json.loads(json.dumps(seen.to_list()))) == seen


def test_a_stored_origin_without_since_keeps_an_earlier_generations_line():
    seen = ReadPositions.from_list([{}, {"orders/0": [110, 0, 3]}])  # stored before `since`
    assert not seen.seen_before(None, Origin("orders/0", 105, 0, 2, 40))
    assert seen.seen_before(None, Origin("orders/0", 105, 0, 3, 100))


def test_the_engine_applies_each_line_once_when_generations_cross_paths():
    engine, state = SkuEngine(), None
    for topic, value in opening("sku-1", 1000):
        state = engine.apply(state, checked(topic, value["sku_id"].encode(), value)).state

    def line(offset: int, generation: int, since: int, read: Position | None = None):
        (made,) = order_lines(order(f"o{offset}", T0 + 60 + offset, [("sku-1", 1)]))
        made["origin"] = {"partition": 0, "offset": offset, "part": 0}
        made["origin"] |= {"generation": generation, "since": since}
        return checked("order-lines", b"sku-1", made, read)

    commit, end = 200, 200 + 2 * RECENT_IDS  # past the event-id window
    for offset in range(commit, end):  # generation 3 in place, from the commit
        state = engine.apply(state, line(offset, 3, commit)).state
    for n, offset in enumerate(range(commit - 5, end)):  # generation 2's, out of order-lines
        state = engine.apply(state, line(offset, 2, 0, Position("order-lines/0", n))).state
    assert state.net_stock == 1000 - (end - commit + 5)  # each order once
