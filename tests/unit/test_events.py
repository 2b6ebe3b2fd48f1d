import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_mkt.events import RejectedEvent, dead_letter, decode, not_ahead
from tests.helpers import DAY, T0, assert_valid, catalog, encoded, inventory, order


def test_accepts_a_valid_order_and_reads_its_event_time():
    value = order("e1", T0 + 3600, [("sku-1", 2)])
    event = decode("orders", b"o-e1", encoded(value))
    assert event.value == value
    assert event.ts == pytest.approx(T0 + 3600)


def test_accepts_offsets_other_than_utc():
    value = order("e1", T0, [("sku-1", 2)])
    value["occurred_at"] = value["occurred_at"].replace("Z", "+02:00")
    assert decode("orders", b"o-e1", encoded(value)).ts == pytest.approx(T0 - 7200)


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda v: v.pop("event_id"), "event_id", "required"),
        (
            lambda v: v["lines"][0].update(quantity=0),
            "lines[0].quantity",
            "0 is less than the minimum of 1",
        ),
        (
            lambda v: v["lines"][0].update(unit_price=-1),
            "lines[0].unit_price",
            "less than or equal to the minimum of 0",
        ),
        (lambda v: v.update(status="shipped"), "status", "one of"),
        (lambda v: v.update(lines=[]), "lines", "less than 1 item"),
        (lambda v: v.update(occurred_at="yesterday"), "occurred_at", "date-time"),
        (lambda v: v.update(coupon="X"), "coupon", "unknown field"),
        (lambda v: v["lines"][0].update(gift=True), "lines[0].gift", "unknown field"),
        (lambda v: v.update(status=True), "status", "true is not one of"),
        (lambda v: v["lines"][0].pop("sku_id"), "lines[0].sku_id", "required"),
        (lambda v: v.update(occurred_at="1970-01-01T00:00:00Z"), "occurred_at", "outside"),
    ],
)
def test_rejections_name_the_field(mutate, field, words):
    value = order("e1", T0, [("sku-1", 2)])
    mutate(value)
    with pytest.raises(RejectedEvent) as caught:
        decode("orders", b"o-e1", encoded(value))
    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_long_offending_value_is_cut_in_the_reason():
    value = order("e1", T0, [("sku-1", 2)])
    value["event_id"] = "x" * 500
    with pytest.raises(RejectedEvent) as caught:
        decode("orders", b"o-e1", encoded(value))
    assert caught.value.field == "event_id"
    assert caught.value.reason == '"' + "x" * 76 + "... is longer than 128 characters"


def test_competitor_price_needs_a_competitor():
    value = {
        "event_id": "p",
        "occurred_at": "2026-11-02T00:00:00Z",
        "sku_id": "s",
        "kind": "competitor",
        "price": 3.5,
    }
    with pytest.raises(RejectedEvent) as caught:
        decode("price-changes", b"s", encoded(value))
    assert caught.value.field == "competitor_id"


def test_receipt_must_add_stock():
    with pytest.raises(RejectedEvent) as caught:
        decode("inventory", b"s", encoded(inventory("i", T0, "s", "receipt", 0)))
    assert caught.value.field == "quantity"


def test_catalog_list_price_must_lie_between_floor_and_ceiling():
    with pytest.raises(RejectedEvent) as caught:
        decode("catalog", b"s", encoded(catalog("s", list_price=50.0)))
    assert caught.value.field == "list_price"


def test_key_must_match_the_key_field():
    with pytest.raises(RejectedEvent) as caught:
        decode("inventory", b"other", encoded(inventory("i", T0, "s", "snapshot", 3)))
    assert caught.value.field == "key"
    with pytest.raises(RejectedEvent):
        decode("inventory", None, encoded(inventory("i", T0, "s", "snapshot", 3)))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not valid JSON"),
        (b"[1]", "JSON object"),
        # not JSON, though Python's own parser reads it (and NaN slips past numeric bounds)
        (b'{"unit_price": NaN}', "not valid JSON"),
        (b'{"quantity": 1e999999}', "not valid JSON"),
        (None, "value is null (a tombstone)"),  # a compacted topic's deletion
    ],
)
def test_unreadable_values_are_rejected(raw, words):
    with pytest.raises(RejectedEvent) as caught:
        decode("clicks", b"u", raw)
    assert words in str(caught.value)


def test_dead_letter_keeps_original_bytes_and_context():
    rejection = RejectedEvent("quantity", "must be bigger than or equal to 1")
    text = dead_letter(rejection, "orders", 3, 17, b'{"a": 1}', T0)
    assert text["raw"] == '{"a": 1}' and text["raw_encoding"] == "utf-8"
    assert (text["topic"], text["partition"], text["offset"]) == ("orders", 3, 17)
    assert text["error"] == "quantity: must be bigger than or equal to 1"
    assert_valid("dead-letter.v1", text)
    binary = dead_letter(rejection, "orders", 0, 0, b"\xff\x00", T0)
    assert binary["raw_encoding"] == "base64" and binary["raw"] == "/wA="
    assert_valid("dead-letter.v1", binary)
    tombstone = dead_letter(rejection, "catalog", 0, 0, None, T0)
    assert tombstone["raw"] == "" and tombstone["raw_encoding"] == "utf-8"
    assert_valid("dead-letter.v1", tombstone)


def test_an_event_stamped_more_than_a_day_ahead_of_the_workers_clock_is_rejected():
    now = T0 + 10 * DAY
    soon = decode("orders", b"o-soon", encoded(order("soon", now + 23 * 3600, [("s", 1)])))
    assert not_ahead(soon, now) is soon
    far = decode("orders", b"o-far", encoded(order("far", now + 3 * DAY, [("s", 1)])))
    with pytest.raises(RejectedEvent) as rejected:
        not_ahead(far, now)
    assert rejected.value.field == "occurred_at"
    assert "3.0 days ahead" in rejected.value.reason
    untimed = decode("catalog", b"s", encoded(catalog("s")))
    assert not_ahead(untimed, now) is untimed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["2026-01-05T00:00:00Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
INPUTS = ["orders", "order-lines", "clicks", "inventory", "price-changes", "catalog", "sku-signals", "sku-ticks"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(INPUTS),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "event_id",
                "occurred_at",
                "sku_id",
                "order_id",
                "user_id",
                "status",
                "lines",
                "action",
                "placement",
                "kind",
                "quantity",
                "price",
                "origin",
                "list_price",
                "min_price",
                "max_price",
                "unit_cost",
                "competitor_id",
            ]
        ),
        json_values,
    ),
    key=st.binary(max_size=8) | st.none(),
)
def test_any_record_is_accepted_or_rejected_with_a_reason(name, fields, key):
    raw = json.dumps(fields).encode()  # NaN and infinities as JSON writers emit them
    try:
        event = decode(name, key, raw)
    except RejectedEvent as rejected:
        assert rejected.reason  # a dead letter with its reason, never another exception
    else:
        assert event.value == fields
