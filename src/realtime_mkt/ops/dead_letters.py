"""What the dead-letter topic received lately, grouped by where the records came from and why;
and sending them back to where they came from once the cause is mended.

On-call's first question about dead letters is which producer sends what wrong, since when: the
records of a window are counted per source topic and field at fault, with the first and last
time, the newest error text and where the newest one was read (topic, partition, offset). Once
the cause is mended (a worker fixed that raised on some event, a schema widened), `redrive`
sends the chosen records' original bytes back to their source topic under their original key.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from realtime_mkt.catalogue import topic
from realtime_mkt.ops.text_table import aligned
from realtime_mkt.settings import Settings


@dataclass(slots=True)
class DeadLetterGroup:
    """The dead letters of one source topic whose error names the same field."""

    topic: str
    field: str | None
    count: int
    first_at: str
    last_at: str
    last_error: str
    last_source: str  # "<topic>[<partition>]@<offset>" of the newest rejected input

    def add(self, record: dict[str, Any]) -> None:
        """Count one more dead letter of this group."""
        self.count += 1
        self.first_at = min(self.first_at, record["received_at"])
        if record["received_at"] >= self.last_at:
            self.last_at = record["received_at"]
            self.last_error = record["error"]
            self.last_source = source(record)


def source(record: dict[str, Any]) -> str:
    """Where the rejected input was read: `<topic>[<partition>]@<offset>`."""
    return f"{record['topic']}[{record['partition']}]@{record['offset']}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One record of the dead-letter topic: the rejected input's key and the record's value."""

    key: bytes | None
    value: dict[str, Any]
    at: str  # "dead-letter[<partition>]@<offset>": where this record is

    def original(self) -> bytes:
        """The rejected input's bytes, as the worker read them."""
        raw = self.value["raw"]
        return base64.b64decode(raw) if self.value["raw_encoding"] == "base64" else raw.encode()


def dead_letters_since(settings: Settings, since_seconds: float) -> Iterator[DeadLetter]:
    """The dead-letter records appended in the last `since_seconds` (every partition read from
    the first offset at or after that time to its end, without joining any group)."""
    name = topic("dead-letter").full_name(settings)
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
    )
    try:
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        if not partitions:
            raise LookupError(f"no topic {name}: wrong KAFKA_BOOTSTRAP_SERVERS or prefix?")
        consumer.assign(partitions)
        start_ms = int((time.time() - since_seconds) * 1000)
        starts = consumer.offsets_for_times({tp: start_ms for tp in partitions})
        ends = consumer.end_offsets(partitions)
        pending: dict[TopicPartition, int] = {}  # partition -> end offset still to reach
        for tp in partitions:
            found = starts.get(tp)
            first = found.offset if found is not None else ends[tp]
            if first < ends[tp]:
                consumer.seek(tp, first)
                pending[tp] = ends[tp]
            else:
                consumer.pause(tp)
        deadline = time.monotonic() + 60
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not return its records up to its end offsets")
            for tp, records in consumer.poll(timeout_ms=1000).items():
                for record in records:
                    if record.offset < pending.get(tp, -1):
                        at = f"dead-letter[{record.partition}]@{record.offset}"
                        yield DeadLetter(record.key, json.loads(record.value), at)
            for tp in [tp for tp, end in pending.items() if consumer.position(tp) >= end]:
                del pending[tp]
                consumer.pause(tp)
    finally:
        consumer.close()


def chosen(
    letters: Iterable[DeadLetter], source_topic: str | None, field: str | None
) -> Iterator[DeadLetter]:
    """The letters from `source_topic` (a full topic name) whose error names `field` ("-": no
    field); either filter left out when None."""
    for letter in letters:
        if source_topic is not None and letter.value["topic"] != source_topic:
            continue
        if field is not None and (letter.value["field"] or "-") != field:
            continue
        yield letter


def redrive(settings: Settings, letters: Iterable[DeadLetter]) -> Counter[str]:
    """Send each letter's original bytes back to the topic it was read from, under its original
    key, with a `realtime-mkt-redriven-from` header naming the dead letter; counts by topic.

    The worker validates them again: what is still wrong comes back as a new dead letter.
    """
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    sent: Counter[str] = Counter()
    try:
        futures = []
        for letter in letters:
            name = letter.value["topic"]
            headers = [("realtime-mkt-redriven-from", letter.at.encode())]
            futures.append(
                producer.send(name, value=letter.original(), key=letter.key, headers=headers)
            )
            sent[name] += 1
        producer.flush()
        for future in futures:
            future.get(timeout=30)  # raises if the broker refused a record
    finally:
        producer.close()
    return sent


def parse_duration(text: str) -> float:
    """Seconds in `30m`, `6h`, `2d` or a bare number of seconds; ValueError names the format."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        raise ValueError(f"{text!r} is not a duration like 30m, 6h or 2d") from None
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return seconds


def summarise(records: Iterable[dict[str, Any]]) -> list[DeadLetterGroup]:
    """Dead letters grouped by source topic and field at fault, most frequent first."""
    groups: dict[tuple[str, str | None], DeadLetterGroup] = {}
    for record in records:
        key = (record["topic"], record["field"])
        if key not in groups:
            groups[key] = DeadLetterGroup(
                record["topic"],
                record["field"],
                0,
                record["received_at"],
                record["received_at"],
                record["error"],
                source(record),
            )
        groups[key].add(record)
    return sorted(groups.values(), key=lambda g: (-g.count, g.topic, g.field or ""))


def format_groups(groups: list[DeadLetterGroup]) -> str:
    """A table of the groups, one line each, then the newest error of each."""
    header = ("COUNT", "TOPIC", "FIELD", "FIRST", "LAST", "NEWEST AT")
    rows = [
        (str(g.count), g.topic, g.field or "-", g.first_at, g.last_at, g.last_source)
        for g in groups
    ]
    errors = [f"{g.topic}: {g.last_error}" for g in groups]
    return "\n".join([aligned(header, rows), "", *errors])
