import json

import pytest

from realtime_mkt.events import RejectedEvent, decode_as
from realtime_mkt.models.daily_demand import SECONDS_PER_DAY
from realtime_mkt.streaming.read_progress import (
    CAUGHT_UP_RECORDS,
    EARLIEST,
    RESEND_SECONDS,
    ReadProgress,
)
from tests.helpers import assert_valid

DAY0 = 20_000
GEN = 3


def at(day: int, hour: float = 12) -> float:
    return day * SECONDS_PER_DAY + hour * 3600


def progress_of(partitions: int, *reads: tuple[int, int, int]) -> ReadProgress:
    """A progress of orders with (partition, offset, day) orders read in generation GEN."""
    progress = ReadProgress(partitions, applied_at_once=True)
    for partition, offset, day in reads:
        progress.read(partition, GEN, offset, at(day))
    return progress


def test_the_bound_is_the_earliest_day_of_the_partitions_still_being_read():
    progress = progress_of(3, (0, 9, DAY0 + 5), (1, 4, DAY0 + 2), (1, 3, DAY0 + 3), (2, 7, DAY0))
    # partition 2 is read to its end: it holds nothing back
    progress.update(GEN, {0: (10, 50_000), 1: (5, 50_000), 2: (8, 8)})
    assert progress.bound(0, GEN) == DAY0 + 3  # the newest order read of partition 1
    progress.update(GEN, {0: (10, 50_000), 1: (5, 5 + CAUGHT_UP_RECORDS - 1), 2: (8, 8)})
    assert progress.bound(0, GEN) == DAY0 + 5
    progress.update(GEN, {0: (10, 10), 1: (5, 5), 2: (8, 8)})
    assert progress.bound(0, GEN) is None  # live: days close on the SKUs' own sales


def test_behind_is_counted_from_the_last_order_read_or_where_the_generation_began():
    progress = progress_of(1, (0, 99, DAY0))
    # the generation began at 0 and read to 99; records fetched beyond are still to come
    progress.update(GEN, {0: (0, 20_000)})
    assert progress.bound(0, GEN) == DAY0
    progress.update(GEN, {0: (0, 100 + CAUGHT_UP_RECORDS - 1)})
    assert progress.bound(0, GEN) is None
    fresh = ReadProgress(
        1, applied_at_once=True
    )  # nothing read yet in this generation: from where it began
    fresh.update(GEN, {0: (19_950, 20_000)})
    assert fresh.bound(0, GEN) is None
    fresh.update(GEN, {0: (0, 20_000)})
    assert fresh.bound(0, GEN) == EARLIEST
    fresh.update(GEN, {0: (0, None)})  # not fetched yet
    assert fresh.bound(0, GEN) == EARLIEST


def test_partitions_of_other_workers_are_known_from_their_records_per_lines_partition():
    reader = progress_of(2, (0, 9, DAY0 + 4))
    reader.update(GEN, {0: (10, 10_000)})
    other = ReadProgress(2, applied_at_once=True)
    other.update(GEN, {})
    assert other.bound(0, GEN) == EARLIEST  # partition 1 of orders not heard of yet
    for record in reader.to_send(now=0.0):
        assert_valid("read-progress.v1", record)
        other.hear(1, json.loads(json.dumps(record)))
    assert other.bound(1, GEN) == EARLIEST  # this worker's orders partition 1: never read
    other.read(1, GEN, 0, at(DAY0 + 6))
    other.update(GEN, {1: (1, 1)})
    assert other.bound(1, GEN) == DAY0 + 4 and other.bound(0, GEN) == EARLIEST
    caught_up = {"partition": 0, "generation": GEN, "read_to": None, "caught_up": True}
    other.hear(1, caught_up)
    assert other.bound(1, GEN) is None
    stale = {
        "partition": 0,
        "generation": GEN - 1,
        "read_to": "2024-10-01",
        "caught_up": False,
    }
    other.hear(1, stale)  # from the partition's reader before the last rebalance
    assert other.bound(1, GEN) is None
    # after the next rebalance, until each partition's reader says how far it has read again
    other.update(GEN + 1, {1: (1, 1)})
    assert other.bound(1, GEN + 1) == EARLIEST


def test_a_new_generation_reads_again_from_the_committed_offset():
    progress = progress_of(1, (0, 500, DAY0 + 9))
    progress.update(GEN + 1, {0: (100, 10_000)})
    assert progress.bound(0, GEN + 1) == EARLIEST  # no order read in this generation yet
    progress.read(0, GEN + 1, 100, at(DAY0 + 2))
    progress.update(GEN + 1, {0: (101, 10_000)})
    assert progress.bound(0, GEN + 1) == DAY0 + 2


def test_progress_is_sent_when_it_changes_and_again_every_resend_period():
    progress = progress_of(2, (0, 9, DAY0), (1, 9, DAY0))
    progress.update(GEN, {0: (10, 9_000), 1: (10, 9_000)})
    first = progress.to_send(now=100.0)
    assert [(r["partition"], r["read_to"], r["caught_up"]) for r in first] == [
        (0, "2024-10-04", False),
        (1, "2024-10-04", False),
    ]
    assert progress.to_send(now=101.0) == []
    progress.read(1, GEN, 10, at(DAY0, hour=23))  # the same day: nothing new to tell
    progress.update(GEN, {0: (10, 9_000), 1: (11, 9_000)})
    assert progress.to_send(now=102.0) == []
    progress.read(1, GEN, 11, at(DAY0 + 1))
    progress.update(GEN, {0: (10, 9_000), 1: (12, 9_000)})
    assert [r["read_to"] for r in progress.to_send(now=103.0)] == ["2024-10-05"]
    assert len(progress.to_send(now=100.0 + RESEND_SECONDS)) == 2


@pytest.mark.parametrize("read_to", ["2024-13-01", "yesterday"])
def test_a_malformed_progress_record_breaks_its_schema(read_to):
    record = {"partition": 0, "generation": 1, "read_to": read_to, "caught_up": False}
    with pytest.raises(RejectedEvent) as rejected:
        decode_as("read-progress.v1", json.dumps(record).encode())
    assert rejected.value.field == "read_to"


def test_an_order_read_moves_the_bound_for_the_next_event_of_the_batch():
    progress = progress_of(2, (0, 0, DAY0), (1, 0, DAY0))
    progress.update(GEN, {0: (1, 9_000), 1: (1, 9_000)})
    assert progress.bound(0, GEN) == DAY0
    assert not progress.read(0, GEN, 1, at(DAY0, hour=20))  # the same day
    assert progress.read(0, GEN, 2, at(DAY0 + 1))
    assert progress.bound(0, GEN) == DAY0  # partition 1 is still on DAY0
    assert progress.read(1, GEN, 1, at(DAY0 + 2))
    assert progress.bound(0, GEN) == DAY0 + 1


def test_what_is_relayed_only_counts_once_its_own_records_come_back():
    # clicks: every signal goes through `sku-signals`, so having read a partition says nothing
    # of the signals still on their way; the record written after them does
    clicks = ReadProgress(1, applied_at_once=False)
    clicks.update(GEN, {0: (0, 0)})
    assert clicks.bound(2, GEN) is None  # nothing read in this generation: nothing on its way
    clicks.read(0, GEN, 0, at(DAY0 + 3))
    clicks.update(GEN, {0: (0, 9_000)})
    assert clicks.bound(2, GEN) == EARLIEST
    (record,) = clicks.to_send(now=0.0)
    assert record == {
        "partition": 0,
        "generation": GEN,
        "read_to": "2024-10-07",
        "caught_up": False,
    }
    clicks.hear(2, record)
    assert clicks.bound(2, GEN) == DAY0 + 3 and clicks.bound(1, GEN) == EARLIEST
