"""Decoding of raw Kafka records into validated input events, and dead-letter records."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from realtime_mkt.catalogue import topic
from realtime_mkt.positions import Origin, Position, source_of
from realtime_mkt.schemas import SchemaViolation, validate

# the topic that the records of a repartitioned topic were made of (their `origin` field)
ORIGIN_TOPICS = {"order-lines": "orders", "sku-signals": "clicks"}
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
MAX_AHEAD_SECONDS = 86_400.0  # a producer's clock may run ahead; a day more is a wrong time


class InputEvent(NamedTuple):
    """A validated input: its logical topic, its value and its event time (epoch seconds);
    where it was read and what it was made of, when known (`positions`). A named tuple: built
    for every record, and a frozen dataclass took four times as long to build."""

    topic: str
    value: dict[str, Any]
    ts: float | None  # None for catalog records, which carry no event time
    read: Position | None = None
    origin: Origin | None = None
    # the earliest day whose orders may still come to its SKU when it was read: a sale or tick
    # closes days only up to it (`engine.closing_day`); None: every order came as it happened
    closing_bound: int | None = None


class RejectedEvent(Exception):
    """An input that must go to the dead-letter topic; `field` names what is wrong."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def parse_time(text: str) -> float:
    """RFC 3339 timestamp to epoch seconds; naive times are rejected."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("has no UTC offset")
    return parsed.timestamp()


def format_time(ts: float) -> str:
    """Epoch seconds to RFC 3339 UTC with millisecond precision."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check_semantics(name: str, value: dict[str, Any]) -> None:
    if name == "catalog":
        if not value["min_price"] <= value["list_price"] <= value["max_price"]:
            raise RejectedEvent("list_price", "must lie within [min_price, max_price]")
        if "map_price" in value and value["map_price"] > value["max_price"]:
            raise RejectedEvent("map_price", "must not exceed max_price")


def not_ahead(event: InputEvent, now: float) -> InputEvent:
    """`event`, unless its `occurred_at` is more than MAX_AHEAD_SECONDS past `now` (the
    worker's wall clock): then raise `RejectedEvent`. Applied, one order stamped a year ahead
    would close its SKU's days up to then, and move the worker's clock there, whose daily ticks
    would then close every SKU's."""
    if event.ts is not None and event.ts > now + MAX_AHEAD_SECONDS:
        ahead = (event.ts - now) / 86_400
        raise RejectedEvent("occurred_at", f"is {ahead:.1f} days ahead of this worker's clock")
    return event


def decode(
    name: str, key: bytes | None, raw: bytes | None, read: Position | None = None
) -> InputEvent:
    """Validate one record of input topic `name` (read at `read`); raise `RejectedEvent` with
    the reason."""
    return checked(name, key, _json_object(raw), read)


def decode_as(schema: str, raw: bytes | None) -> dict[str, Any]:
    """Decode a record's value and validate it against `schema` alone (a record that is not
    one of its topic's events, such as `order-lines`' keyless progress records); raise
    `RejectedEvent` with the reason."""
    value = _json_object(raw)
    _validate(schema, value)
    return value


def _validate(schema: str, value: dict[str, Any]) -> None:
    try:
        validate(schema, value)
    except SchemaViolation as exc:
        raise RejectedEvent(exc.field, exc.message) from None


def _json_object(raw: bytes | None) -> dict[str, Any]:
    if raw is None:  # a compacted topic's way to delete a key: the contract deletes nothing
        raise RejectedEvent(
            None, "value is null (a tombstone): the event contract has no deletions"
        )
    try:
        value = orjson.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RejectedEvent(None, f"value is not UTF-8 text (byte {exc.start})") from None
    except orjson.JSONDecodeError as exc:
        raise RejectedEvent(
            None, f"value is not valid JSON ({exc.msg} at char {exc.pos})"
        ) from None
    if not isinstance(value, dict):
        raise RejectedEvent(None, f"value must be a JSON object, got {type(value).__name__}")
    return value


def checked(
    name: str, key: bytes | None, value: dict[str, Any], read: Position | None = None
) -> InputEvent:
    """Validate one decoded value of input topic `name` under record key `key` (read at
    `read`; made of the `origin` its value names, if any); raise `RejectedEvent` with the
    reason."""
    spec = topic(name)
    _validate(spec.schema, value)
    _check_semantics(name, value)
    key_field = spec.key
    if key is None or key.decode("utf-8", "replace") != value[key_field]:
        shown = None if key is None else key.decode("utf-8", "replace")
        raise RejectedEvent(
            "key", f"record key {shown!r} must equal {key_field} {value[key_field]!r}"
        )
    ts = None
    if "occurred_at" in value:
        try:
            ts = parse_time(value["occurred_at"])
        except ValueError as exc:
            raise RejectedEvent("occurred_at", f"is not an RFC 3339 time ({exc})") from None
        if not EARLIEST <= ts < LATEST:
            raise RejectedEvent("occurred_at", "is outside 2000-01-01..2100-01-01")
    origin = None
    if "origin" in value:
        made_of = value["origin"]
        origin = Origin(
            source_of(ORIGIN_TOPICS[name], made_of["partition"]),
            made_of["offset"],
            made_of["part"],
            made_of["generation"],
            made_of.get("since"),
        )
    return InputEvent(name, value, ts, read, origin)


def dead_letter(
    rejection: RejectedEvent,
    topic_name: str,
    partition: int,
    offset: int,
    raw: bytes | None,
    now: float,
) -> dict[str, Any]:
    """The dead-letter record for a rejected input, keeping the original bytes (none for a
    null value, which its error names)."""
    try:
        text, encoding = (raw or b"").decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    return {
        "received_at": format_time(now),
        "topic": topic_name,
        "partition": partition,
        "offset": offset,
        "error": str(rejection),
        "field": rejection.field,
        "raw": text,
        "raw_encoding": encoding,
    }
