"""`realtime-mkt produce`: publish events from a JSONL or CSV file to their topics.

JSONL lines are either envelopes `{"topic": ..., "value": {...}, "key"?: ...}` or, with `--topic`,
bare event values. CSV needs `--topic`; cells are typed by the topic's JSON Schema (a nested field
such as an order's `lines` is a JSON cell) and empty cells are left out. The record key is the
topic's key field from the catalogue unless the envelope gives one. Lines that cannot be sent are
reported with their line number; the worker's validation decides the rest (dead-letter topic).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaProducer
from tqdm import tqdm

from realtime_mkt.catalogue import load_catalogue
from realtime_mkt.schemas import load_schema
from realtime_mkt.settings import Settings


@dataclass(frozen=True, slots=True)
class Record:
    """One record ready to send."""

    line: int
    topic: str
    key: str
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that could not be turned into a record or could not be sent."""

    line: int
    error: str


def _record(line: int, topic: str | None, value: Any, key: Any = None) -> Record | LineError:
    catalogue = load_catalogue()
    if topic not in catalogue or catalogue[topic].role != "input":
        inputs = sorted(n for n, s in catalogue.items() if s.role == "input")
        return LineError(
            line, f"topic {topic!r} is not an input topic (one of {', '.join(inputs)})"
        )
    if not isinstance(value, dict):
        return LineError(line, "value must be a JSON object")
    key_field = catalogue[topic].key
    key = key if key is not None else value.get(key_field)
    if not isinstance(key, str) or not key:
        return LineError(line, f"field {key_field!r} (the key of {topic}) is missing or not text")
    return Record(line, topic, key, value)


def _jsonl(path: Path, topic: str | None) -> Iterator[Record | LineError]:
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield LineError(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if topic is None:
                if not isinstance(data, dict) or "topic" not in data or "value" not in data:
                    yield LineError(
                        number,
                        'expected an envelope {"topic": ..., "value": {...}} (or pass --topic)',
                    )
                    continue
                yield _record(number, data["topic"], data["value"], data.get("key"))
            else:
                yield _record(number, topic, data)


def _typed(cell: str, kind: Any) -> Any:
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds:
        return int(cell)
    if "number" in kinds:
        return float(cell)
    if "array" in kinds or "object" in kinds:
        return json.loads(cell)
    return cell


def _csv(path: Path, topic: str | None) -> Iterator[Record | LineError]:
    if topic is None:
        yield LineError(0, "a CSV file needs --topic")
        return
    properties = load_schema(load_catalogue()[topic].schema or "").get("properties", {})
    with path.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                value = {
                    name: _typed(cell, properties.get(name, {}).get("type", "string"))
                    for name, cell in row.items()
                    if cell not in ("", None)
                }
            except ValueError as exc:
                yield LineError(number, f"cannot read a cell: {exc}")
                continue
            yield _record(number, topic, value)


def read_file(path: Path, topic: str | None = None) -> Iterator[Record | LineError]:
    """Records and per-line errors from a `.jsonl`/`.json` or `.csv` file."""
    reader = _csv if path.suffix.lower() == ".csv" else _jsonl
    return reader(path, topic)


def produce_file(
    settings: Settings, path: Path, topic: str | None = None
) -> tuple[int, list[LineError]]:
    """Send every readable line; return the number sent and the errors by line."""
    catalogue = load_catalogue()
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        linger_ms=5,
        key_serializer=str.encode,
        value_serializer=lambda v: json.dumps(v, separators=(",", ":")).encode(),
    )
    errors: list[LineError] = []
    sent = 0
    try:
        for item in tqdm(read_file(path, topic), desc=f"producing {path.name}", unit="ev"):
            if isinstance(item, LineError):
                errors.append(item)
                continue
            future = producer.send(
                catalogue[item.topic].full_name(settings), key=item.key, value=item.value
            )
            future.add_errback(
                lambda exc, line=item.line: errors.append(LineError(line, f"send failed: {exc}"))
            )
            sent += 1
        producer.flush()
    finally:
        producer.close()
    failed_sends = sum(1 for e in errors if e.error.startswith("send failed"))
    return sent - failed_sends, sorted(errors, key=lambda e: e.line)
