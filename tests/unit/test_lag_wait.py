"""`wait_until_consumed` rides out a broker that cannot answer for the group yet."""

from __future__ import annotations

import pytest
from kafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError

from realtime_mkt.ops import lag
from realtime_mkt.settings import Settings


class EndOffsets:
    """Stands in for the consumer: every partition ends at offset 5."""

    def __init__(self, **_: object) -> None:
        pass

    def end_offsets(self, partitions: list) -> dict:
        return dict.fromkeys(partitions, 5)

    def close(self) -> None:
        pass


def answers(*replies):
    """A `committed_offsets` that gives `replies` in turn (raising the exceptions among them)."""
    queue = list(replies)

    def committed(bootstrap: str, group: str) -> dict:
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return committed


@pytest.fixture
def settings(monkeypatch, tmp_path):
    monkeypatch.setattr(lag, "KafkaConsumer", EndOffsets)
    monkeypatch.setattr(lag.time, "sleep", lambda seconds: None)
    return Settings("unused:9092", "t.", tmp_path, web_port=0, web_enabled=False)


def test_waits_through_a_coordinator_that_is_not_there_yet(settings, monkeypatch):
    done = {lag.TopicPartition(lag.topic("orders").full_name(settings), p): 5 for p in range(4)}
    replies = answers(CoordinatorNotAvailableError(), CoordinatorNotAvailableError(), done)
    monkeypatch.setattr(lag, "committed_offsets", replies)
    lag.wait_until_consumed(settings, ["orders"], timeout=10, alive=lambda: True)


def test_a_lasting_error_is_raised(settings, monkeypatch):
    monkeypatch.setattr(lag, "committed_offsets", answers(GroupAuthorizationFailedError()))
    with pytest.raises(GroupAuthorizationFailedError):
        lag.wait_until_consumed(settings, ["orders"], timeout=10, alive=lambda: True)


def test_a_timeout_names_the_partitions_still_behind(settings, monkeypatch):
    orders = lag.topic("orders").full_name(settings)
    partly = {lag.TopicPartition(orders, p): 5 for p in (0, 2, 3)}  # partition 1: nothing committed
    partly[lag.TopicPartition(orders, 3)] = 4
    monkeypatch.setattr(lag, "committed_offsets", lambda bootstrap, group: partly)
    clock = iter(range(100))
    monkeypatch.setattr(lag.time, "monotonic", lambda: next(clock))
    with pytest.raises(TimeoutError) as raised:
        lag.wait_until_consumed(settings, ["orders"], timeout=10, alive=lambda: True)
    message = str(raised.value)
    assert f"{orders}[1] committed None of 5" in message
    assert f"{orders}[3] committed 4 of 5" in message
    assert f"{orders}[0]" not in message and f"{orders}[2]" not in message
