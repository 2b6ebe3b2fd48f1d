import pytest

from realtime_mkt.events import RejectedEvent, dead_letter
from realtime_mkt.ops.dead_letters import (
    DeadLetter,
    chosen,
    format_groups,
    parse_duration,
    summarise,
)


def test_durations():
    assert parse_duration("90") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("6h") == 6 * 3600
    assert parse_duration("1.5d") == 1.5 * 86400
    for wrong in ("", "h", "soon", "-2h", "0m"):
        with pytest.raises(ValueError, match=repr(wrong)):
            parse_duration(wrong)


def test_groups_count_by_source_and_field_and_keep_the_newest_error():
    def letter(source: str, field: str | None, why: str, offset: int, at: float) -> dict:
        return dead_letter(RejectedEvent(field, why), source, 0, offset, b"x", at)

    records = [
        letter("p.orders", "lines", "too short", 4, 100.0),
        letter("p.inventory", "quantity", "-1 < 0", 1, 50.0),
        letter("p.inventory", "quantity", "-3 < 0", 9, 300.0),
        letter("p.inventory", "quantity", "-2 < 0", 5, 200.0),
    ]
    inventory, orders = summarise(iter(records))  # the most frequent first
    assert (inventory.count, inventory.field, inventory.last_source) == (
        3,
        "quantity",
        "p.inventory[0]@9",
    )
    assert inventory.first_at < inventory.last_at == records[2]["received_at"]
    assert inventory.last_error == "quantity: -3 < 0"
    assert (orders.topic, orders.count, orders.last_source) == ("p.orders", 1, "p.orders[0]@4")
    text = format_groups(summarise(iter(records))).splitlines()
    assert text[0].split() == ["COUNT", "TOPIC", "FIELD", "FIRST", "LAST", "NEWEST", "AT"]
    assert text[1].split()[:3] == ["3", "p.inventory", "quantity"]
    assert "p.orders: lines: too short" in text


def test_a_letter_gives_back_the_original_bytes_text_or_not():
    for raw in (b'{"sku_id": "s\xc3\xa9"}', b"\xff\xfe\x00", b""):
        value = dead_letter(RejectedEvent(None, "bad"), "p.orders", 0, 1, raw, 0.0)
        assert DeadLetter(b"k", value, "dead-letter[0]@1").original() == raw


def test_letters_are_chosen_by_source_topic_and_field():
    def letter(source: str, field: str | None) -> DeadLetter:
        value = dead_letter(RejectedEvent(field, "bad"), source, 0, 1, b"x", 0.0)
        return DeadLetter(None, value, "dead-letter[0]@1")

    letters = [letter("p.orders", "lines"), letter("p.orders", None), letter("p.clicks", "lines")]

    def picked(topic: str | None, field: str | None) -> list[tuple[str, str | None]]:
        return [(c.value["topic"], c.value["field"]) for c in chosen(letters, topic, field)]

    assert picked(None, None) == [("p.orders", "lines"), ("p.orders", None), ("p.clicks", "lines")]
    assert picked("p.orders", None) == [("p.orders", "lines"), ("p.orders", None)]
    assert picked(None, "lines") == [("p.orders", "lines"), ("p.clicks", "lines")]
    assert picked("p.orders", "-") == [("p.orders", None)]
