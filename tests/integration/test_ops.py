"""Operations commands against the real broker: topics, produce, lag."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.structs import OffsetAndMetadata

from realtime_mkt.catalogue import load_catalogue, topic
from realtime_mkt.events import RejectedEvent, dead_letter, parse_time
from realtime_mkt.ops.lag import group_lag
from realtime_mkt.ops.local_broker import LocalBroker
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.worker_process import free_port, settings_env, stop_worker
from tests.helpers import T0, inventory, opening
from tests.integration.conftest import RunningWorker
from tests.integration.kafka_io import consume, members_partitions, produce, produce_in_order

pytestmark = pytest.mark.integration


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "realtime_mkt", *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_worker_started_before_its_topics_waits_for_them_then_consumes(fresh_settings, tmp_path):
    # Faust's consumer ignores topics missing at its start, and keeps ignoring them once created
    worker = RunningWorker(fresh_settings, tmp_path)
    try:
        worker.wait_logged("of the worker's topics do not exist")
        assert "`realtime-mkt topics create` makes them" in worker.log_since_restart()
        create_topics(fresh_settings)
        worker.wait_ready()
        produce_in_order(fresh_settings, opening("sku-w", 40))
        worker.wait_idle(["catalog", "inventory"])
    finally:
        stop_worker(worker.process)


def test_a_second_worker_on_the_same_data_folder_waits_outside_the_group(worker, tmp_path):
    worker.wait_ready()
    second = RunningWorker(
        dataclasses.replace(worker.settings, web_port=free_port()), tmp_path / "second"
    )
    try:
        second.wait_logged(f"another worker (pid {worker.process.pid}) uses REALTIME_MKT_DATA_DIR=")
        time.sleep(3)  # it would have joined by now (a worker joins within a second or two)
        assert [len(p) for p in members_partitions(worker.settings)] == [4]
        assert "Ready" not in second.log_since_restart()
    finally:
        stop_worker(second.process)


def test_a_topic_partitioned_otherwise_than_the_catalogue_stops_the_worker_at_start(fresh_settings):
    name, wanted = topic("inventory").full_name(fresh_settings), topic("inventory").partitions
    admin = KafkaAdminClient(bootstrap_servers=fresh_settings.bootstrap_servers)
    try:
        admin.create_topics([NewTopic(name, wanted * 2, 1)])
    finally:
        admin.close()
    created = cli(fresh_settings, "topics", "create")
    problem = f"{name} has {wanted * 2} partitions, the catalogue {wanted}"
    assert created.returncode == 1 and f"error: {problem}" in created.stderr
    started = cli(fresh_settings, "worker")  # exits at once: waiting would not mend it
    assert started.returncode == 2
    assert started.stderr.startswith(f"error: {problem}: topics keyed alike"), started.stderr


def test_topics_create_is_idempotent_and_follows_the_catalogue(fresh_settings):
    first = cli(fresh_settings, "topics", "create")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("created") == len(load_catalogue())
    second = cli(fresh_settings, "topics", "create")
    assert "created" not in second.stdout and second.stdout.count("exists") == len(load_catalogue())
    admin = KafkaAdminClient(bootstrap_servers=fresh_settings.bootstrap_servers)
    try:
        name = topic("catalog").full_name(fresh_settings)
        described = admin.describe_topics([name])[0]  # `topics create` returned: it is listed
        assert len(described["partitions"]) == topic("catalog").partitions
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        assert configs["topic"][name]["cleanup.policy"]["value"] == "compact"
    finally:
        admin.close()


def test_topics_create_sets_the_catalogue_configs_on_existing_topics(fresh_settings):
    """A changelog created before the catalogue asked for compression gets it; a config the
    catalogue does not name, set by an operator, stays."""
    create_topics(fresh_settings)
    names = [topic(t).full_name(fresh_settings) for t in ("sku-state-changelog", "clicks")]
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    admin = KafkaAdminClient(bootstrap_servers=fresh_settings.bootstrap_servers)
    try:
        changelog = admin.describe_configs(resources[:1])["topic"][names[0]]
        assert changelog["compression.type"]["value"] == "zstd"
        older = {"compression.type": "producer", "retention.bytes": "1073741824"}
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, names[0], configs=older)])
        admin.alter_configs(  # an input topic's retention, in the catalogue, shortened by hand
            [ConfigResource(ConfigResourceType.TOPIC, names[1], configs={"retention.ms": "60000"})]
        )
        again = cli(fresh_settings, "topics", "create")
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("updated") == 2
        assert all(f"updated  {name}" in again.stdout for name in names)
        configs = admin.describe_configs(resources)["topic"]
        assert configs[names[0]]["compression.type"]["value"] == "zstd"
        assert configs[names[0]]["cleanup.policy"]["value"] == "compact"
        assert configs[names[0]]["retention.bytes"]["value"] == "1073741824"
        assert configs[names[1]]["retention.ms"]["value"] == topic("clicks").config["retention.ms"]
    finally:
        admin.close()


def test_topics_delete_removes_its_prefix_only(fresh_settings):
    other = dataclasses.replace(fresh_settings, topic_prefix=f"{fresh_settings.topic_prefix}other.")
    create_topics(fresh_settings)
    create_topics(other)
    deleted = cli(other, "topics", "delete")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.count("deleted  ") == len(load_catalogue())
    admin = KafkaAdminClient(bootstrap_servers=fresh_settings.bootstrap_servers)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # deletion completes asynchronously on the broker
            listed = set(admin.list_topics())
            if not any(spec.full_name(other) in listed for spec in load_catalogue().values()):
                break
            time.sleep(0.5)
        assert not any(spec.full_name(other) in listed for spec in load_catalogue().values())
        assert all(spec.full_name(fresh_settings) in listed for spec in load_catalogue().values())
    finally:
        admin.close()
    again = cli(other, "topics", "delete")
    assert again.returncode == 0 and "0 topics deleted" in again.stdout


def test_produce_sends_good_lines_and_reports_bad_ones(fresh_settings, tmp_path):
    create_topics(fresh_settings)
    path = tmp_path / "inventory.jsonl"
    good = [inventory(f"i{n}", T0, f"sku-{n}", "snapshot", n) for n in range(3)]
    lines = [
        json.dumps(good[0]),
        "{broken",
        json.dumps(good[1]),
        json.dumps({"kind": "snapshot"}),
        json.dumps(good[2]),
    ]
    path.write_text("\n".join(lines) + "\n")
    result = cli(fresh_settings, "produce", str(path), "--topic", "inventory")
    assert result.returncode == 1
    assert re.search(r"line 2: not valid JSON", result.stderr)
    assert re.search(r"line 4: field 'sku_id'", result.stderr)
    assert "sent 3 events; 2 lines not sent" in result.stdout
    received = consume(fresh_settings, "inventory", 3, settle=1.0)
    assert sorted(json.loads(r.value)["event_id"] for r in received) == ["i0", "i1", "i2"]
    assert {r.key.decode() for r in received} == {"sku-0", "sku-1", "sku-2"}


def test_lag_agrees_with_kafka_consumer_groups(fresh_settings):
    create_topics(fresh_settings)
    name = topic("inventory").full_name(fresh_settings)
    records = [("inventory", f"sku-{n}".encode(), b"{}") for n in range(40)]
    positions = produce(fresh_settings, records)
    ends: dict[int, int] = {}
    for _, partition, offset in positions:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    group = fresh_settings.app_id
    consumer = KafkaConsumer(
        bootstrap_servers=fresh_settings.bootstrap_servers, group_id=group, enable_auto_commit=False
    )
    try:
        consumer.commit(
            {
                TopicPartition(name, p): OffsetAndMetadata(end // 2, "", -1)
                for p, end in ends.items()
            }
        )
    finally:
        consumer.close()
    rows = {r.partition: r for r in group_lag(fresh_settings.bootstrap_servers, group)}
    for partition, end in ends.items():
        assert (rows[partition].committed, rows[partition].end) == (end // 2, end)
        assert rows[partition].lag == end - end // 2
        assert rows[partition].lag_seconds is not None and rows[partition].lag_seconds >= 0
    broker = LocalBroker.default()
    if not (broker.libs / "kafka-tools-3.9.1.jar").exists():
        return  # Kafka's own tool is only at hand with the local broker's jars
    described = subprocess.run(
        ["java", "-cp", f"{broker.libs}/*", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
         "--bootstrap-server", fresh_settings.bootstrap_servers, "--describe", "--group", group],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    theirs = {}
    for line in described.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == name:
            theirs[int(fields[2])] = (int(fields[3]), int(fields[4]), int(fields[5]))
    assert theirs == {p: (r.committed, r.end, r.lag) for p, r in rows.items()}
    shown = cli(fresh_settings, "lag")
    assert shown.returncode == 0 and "LOG-END-OFFSET" in shown.stdout and name in shown.stdout


def test_dead_letters_of_a_window_by_source_topic_and_field(fresh_settings):
    create_topics(fresh_settings)
    prefix, now = fresh_settings.topic_prefix, time.time()

    def letter(source: str, field: str | None, why: str, offset: int, at: float) -> dict:
        return dead_letter(RejectedEvent(field, why), prefix + source, 1, offset, b"{}", at)

    letters = [
        letter("inventory", "quantity", "-1 is less than the minimum of 0", 7, now - 60),
        letter("orders", "lines", "[] is too short", 3, now - 30),
        letter("inventory", "quantity", "-5 is less than the minimum of 0", 9, now - 20),
        letter("inventory", None, "internal error: KeyError('x')", 12, now - 10),
    ]
    producer = KafkaProducer(bootstrap_servers=fresh_settings.bootstrap_servers)
    name = topic("dead-letter").full_name(fresh_settings)
    stale = letter("clicks", "user_id", "too old to show", 1, now - 7200)
    producer.send(name, json.dumps(stale).encode(), timestamp_ms=int((now - 7200) * 1000))
    for value in letters:
        producer.send(
            name,
            json.dumps(value).encode(),
            timestamp_ms=int(parse_time(value["received_at"]) * 1000),
        )
    producer.flush()
    producer.close()

    shown = cli(fresh_settings, "dead-letters", "--since", "1h")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "4 dead letters in the last 1h"
    rows = [line.split() for line in lines[2:5]]
    assert [row[:3] for row in rows] == [
        ["2", f"{prefix}inventory", "quantity"],
        ["1", f"{prefix}inventory", "-"],
        ["1", f"{prefix}orders", "lines"],
    ]
    assert rows[0][5] == f"{prefix}inventory[1]@9"  # where the newest of the group was read
    assert f"{prefix}inventory: quantity: -5 is less than the minimum of 0" in lines
    as_json = cli(fresh_settings, "dead-letters", "--since", "1h", "--json")
    assert sorted(json.loads(line)["offset"] for line in as_json.stdout.splitlines()) == [
        3,
        7,
        9,
        12,
    ]
    wider = cli(fresh_settings, "dead-letters", "--since", "3h")
    assert wider.stdout.startswith("5 dead letters in the last 3h")
    wrong = cli(fresh_settings, "dead-letters", "--since", "soon")
    assert wrong.returncode == 2 and "'soon' is not a duration like 30m, 6h or 2d" in wrong.stderr
    narrowed = cli(fresh_settings, "dead-letters", "--since", "1h", "--topic", "inventory")
    assert narrowed.stdout.startswith("3 dead letters in the last 1h")
    unknown = cli(fresh_settings, "dead-letters", "--topic", "invntory")
    assert unknown.returncode == 2 and "--topic invntory is not a catalogue topic" in unknown.stderr


def test_dead_letters_redriven_go_back_to_their_topic_and_are_validated_again(worker):
    settings = worker.settings
    bad_order = b'{"event_id": "o-1", "order_id": "o-1", "lines": []}'
    bad_click = b"\xff\xfe not utf-8"
    produce(settings, [("orders", b"o-1", bad_order), ("clicks", b"u-1", bad_click)])
    first = {  # source topic -> where its dead letter is
        json.loads(r.value)["topic"]: f"dead-letter[{r.partition}]@{r.offset}".encode()
        for r in consume(settings, "dead-letter", 2)
    }
    assert sorted(first) == [topic(t).full_name(settings) for t in ("clicks", "orders")]

    for name, raw, key in (("orders", bad_order, b"o-1"), ("clicks", bad_click, b"u-1")):
        resent = cli(settings, "dead-letters", "--since", "1h", "--topic", name, "--redrive")
        assert resent.returncode == 0, resent.stderr
        assert resent.stdout.splitlines() == [
            "1 dead letters of the last 1h sent back",
            f"       1  {topic(name).full_name(settings)}",
        ]
        original, again = consume(settings, name, 2)  # the original bytes, under their key
        assert (again.key, again.value) == (key, raw) == (original.key, original.value)
        assert again.headers == [("realtime-mkt-redriven-from", first[again.topic])]
    # the worker read them again and, still bad, dead-lettered them again with the same reason
    letters = [json.loads(r.value) for r in consume(settings, "dead-letter", 4)]
    assert len(letters) == 4
    for name in ("orders", "clicks"):
        mine = [v for v in letters if v["topic"] == topic(name).full_name(settings)]
        assert [v["offset"] for v in mine] == [0, 1]
        assert mine[0]["error"] == mine[1]["error"] and mine[0]["raw"] == mine[1]["raw"]


CODECS = ("gzip", "snappy", "lz4", "zstd")  # what a producer may compress its batches with


def test_lag_reads_the_age_of_records_however_their_producer_compressed_them(fresh_settings):
    create_topics(fresh_settings)
    name = topic("orders").full_name(fresh_settings)
    a_minute_ago = int((time.time() - 60) * 1000)
    for partition, codec in enumerate(CODECS):
        producer = KafkaProducer(
            bootstrap_servers=fresh_settings.bootstrap_servers, compression_type=codec
        )
        producer.send(name, b"{}", b"o", partition=partition, timestamp_ms=a_minute_ago)
        producer.flush()
        producer.close()
    consumer = KafkaConsumer(
        bootstrap_servers=fresh_settings.bootstrap_servers,
        group_id=fresh_settings.app_id,
        enable_auto_commit=False,
    )
    try:  # the group has consumed nothing of them
        consumer.commit(
            {TopicPartition(name, p): OffsetAndMetadata(0, "", -1) for p in range(len(CODECS))}
        )
    finally:
        consumer.close()
    rows = group_lag(fresh_settings.bootstrap_servers, fresh_settings.app_id)
    assert [(r.partition, r.lag) for r in rows] == [(p, 1) for p in range(len(CODECS))]
    for row in rows:
        assert row.lag_seconds == pytest.approx(60, abs=30), CODECS[row.partition]
