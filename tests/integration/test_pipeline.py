"""The worker end to end on a real broker: decisions equal the in-process engine's, bad input is dead-lettered."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from dataclasses import replace

import pytest
from kafka import KafkaProducer

from realtime_mkt.catalogue import load_catalogue, topic
from realtime_mkt.decision_log import RECENT_DECISIONS
from realtime_mkt.decisions import anchor_fields
from realtime_mkt.engine import SkuEngine, price_anchor
from realtime_mkt.events import format_time
from realtime_mkt.models.elasticity import PRIOR_ELASTICITY
from realtime_mkt.ops.local_broker import exited
from realtime_mkt.streaming.app import category_prior_view
from realtime_mkt.streaming.fatal import EXIT_AGENT_FAILED, EXIT_UNDELIVERED
from realtime_mkt.streaming.routing import partition_of
from tests.helpers import (
    T0,
    assert_valid,
    catalog,
    demand_history,
    encoded,
    inventory,
    keys_on,
    opening,
    order,
    priced_demand,
    replay,
)
from tests.integration.kafka_io import (
    consume,
    consume_decisions,
    consume_until,
    produce,
    produce_in_order,
)
from tests.integration.web import get, wait_for_events

pytestmark = pytest.mark.integration

DAYS = [10, 12, 8, 11, 9, 10, 13, 7, 10, 12, 11, 9]
SKUS = ("sku-a", "sku-b", "sku-c")


def master_data() -> list[tuple[str, dict]]:
    return [
        x
        for i, sku in enumerate(SKUS)
        for x in opening(sku, 60, lead_time_days=2 + i, order_multiple=1 + i)
    ]


def demand(days: list[int], prefix: str, start: float = T0) -> list[tuple[str, dict]]:
    return [
        x for sku in SKUS for x in demand_history(sku, days, start=start, prefix=f"{prefix}-{sku}-")
    ]


def by_id(records) -> dict[str, dict]:
    return {v["decision_id"]: v for v in (json.loads(r.value) for r in records)}


def assert_same_decisions(got: dict[str, dict], wanted: dict[str, dict]) -> None:
    """`got == wanted`, or a failure that spells out every missing, extra and differing decision."""
    if got == wanted:
        return
    lines = [
        f"missing {v['sku_id']} {v['occurred_at']}: {v}" for k, v in wanted.items() if k not in got
    ]
    lines += [
        f"extra {v['sku_id']} {v['occurred_at']}: {v}" for k, v in got.items() if k not in wanted
    ]
    for k in got.keys() & wanted.keys():
        fields = sorted(
            f for f in got[k].keys() | wanted[k].keys() if got[k].get(f) != wanted[k].get(f)
        )
        if fields:
            diff = {f: (got[k].get(f), wanted[k].get(f)) for f in fields}
            lines.append(f"differing {k} (got, wanted): {diff}")
    pytest.fail("decisions differ from the in-process replay:\n" + "\n".join(lines))


def assert_every_decision_repeated_only_unchanged(settings, inputs) -> None:
    """Every restock request and price adjustment the in-process replay of `inputs` makes came
    out, and none other: input read again after a crash or an exit may repeat a decision, but
    only under its original id and unchanged."""
    _, expected = replay(SkuEngine(), inputs)
    for name in ("restock-requests", "price-adjustments"):
        wanted = {o.value["decision_id"]: o.value for o in expected if o.topic == name}
        records = [json.loads(r.value) for r in consume_decisions(settings, name, set(wanted))]
        assert all(v == wanted.get(v["decision_id"]) for v in records)
        assert {v["decision_id"] for v in records} == set(wanted)


def test_decisions_match_the_engine_and_validate(worker):
    settings = worker.settings
    worker.open_market(master_data())
    history = demand(DAYS, "d")
    produce_in_order(settings, history + history[:5])  # the repeats are duplicates: same event ids
    _, expected = replay(SkuEngine(), master_data() + history)
    assert len(expected) >= len(SKUS)
    for name in ("restock-requests", "price-adjustments"):
        wanted = {o.value["decision_id"]: o.value for o in expected if o.topic == name}
        assert wanted, name
        records = consume_decisions(settings, name, set(wanted))
        assert_same_decisions(by_id(records), wanted)
        for record in records:
            value = json.loads(record.value)
            assert record.key.decode() == value["sku_id"]
            assert_valid(f"{name}.v1", value)


def test_the_worker_reads_input_however_its_producer_compressed_it(worker):
    settings = worker.settings
    worker.open_market(master_data())
    codecs = ("gzip", "snappy", "lz4", "zstd")
    for codec in codecs:
        producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, compression_type=codec
        )
        value = order(codec, T0, [("sku-a", 1)])
        producer.send(
            topic("orders").full_name(settings), encoded(value), value["order_id"].encode()
        )
        producer.flush()
        producer.close()
    worker.wait_idle(["orders", "order-lines"])

    def sold_one_each(records: list) -> bool:  # sku-a's latest state: 60 opening, 4 sold
        states = [json.loads(r.value) for r in records if r.key == b'"sku-a"' and r.value]
        return bool(states) and states[-1]["net"] == 60 - len(codecs)

    state = consume_until(settings, "sku-state-changelog", sold_one_each, timeout=30, settle=0)
    assert sold_one_each(state)
    assert consume(settings, "dead-letter", 1, timeout=3, settle=0) == []


def test_bad_input_goes_to_dead_letter_with_the_reason(worker):
    settings = worker.settings
    bad_order = order("bad-1", T0, [("sku-a", 1)])
    bad_order["lines"][0]["quantity"] = 0
    no_competitor = {
        "event_id": "p1",
        "occurred_at": "2026-11-02T00:00:00Z",
        "sku_id": "sku-a",
        "kind": "competitor",
        "price": 3.0,
    }
    records = [
        ("orders", b"o-bad-1", encoded(bad_order)),
        ("price-changes", b"sku-a", encoded(no_competitor)),
        ("clicks", b"u1", b"\xff\xfe\x00"),
        ("inventory", b"wrong-key", encoded(inventory("i1", T0, "sku-a", "snapshot", 5))),
        ("catalog", b"sku-z", b'{"sku_id": "sku-z"}'),
        ("orders", b"o-ahead", encoded(order("ahead", time.time() + 3 * 86_400, [("sku-a", 1)]))),
        ("catalog", b"sku-a", None),  # a tombstone: it used to crash the SKU agent's batch
        ("orders", b"o-ok", encoded(order("ok", T0, [("sku-a", 1)]))),
    ]
    positions = produce(settings, records)
    letters = consume(settings, "dead-letter", 7)
    assert len(letters) == 7  # the valid order is not among them
    got = {
        (v["topic"], v["partition"], v["offset"]): (r.key, v)
        for r, v in ((r, json.loads(r.value)) for r in letters)
    }
    expected_fields = [
        "lines[0].quantity", "competitor_id", None, "key", "category", "occurred_at", None
    ]  # fmt: skip
    for (_name, key, raw), position, field in zip(
        records, positions, expected_fields, strict=False
    ):
        record_key, letter = got[position]
        assert record_key == key
        assert letter["field"] == field, letter
        assert letter["error"]
        raw_back = (
            letter["raw"].encode()
            if letter["raw_encoding"] == "utf-8"
            else __import__("base64").b64decode(letter["raw"])
        )
        assert raw_back == (raw or b"")  # a null value has no bytes; its error says so
        assert_valid("dead-letter.v1", letter)
    assert "tombstone" in got[positions[6]][1]["error"]
    worker.wait_idle(["orders", "order-lines", "clicks", "inventory", "catalog", "price-changes"])
    assert worker.process.poll() is None  # bad input never stops the worker


@pytest.mark.faust_buffer_delay(1.0)  # state must not wait in Faust's buffer past a commit
@pytest.mark.parametrize("restore", ["bulk", "faust"])
def test_restarted_worker_recovers_state_from_changelog(worker, restore):
    settings = worker.settings
    # steady demand, so the forecast errors lean to neither side (tracking signal 0)
    first = master_data() + demand([10] * 6, "p1")
    worker.open_market(master_data())
    produce_in_order(settings, first[len(master_data()) :])
    worker.wait_idle(["orders", "order-lines"])
    # sku-a sold its last unit on day 6; the receipt of its first request ends that cycle, which
    # raises the safety factor of sku-a and of its lead time's pool (stored per partition)
    _, early = replay(SkuEngine(), first)
    request = next(o.value for o in early if o.topic == "restock-requests")
    assert request["sku_id"] == "sku-a"
    receipt = inventory(
        "rcv-a", T0 + 6 * 86_400 + 60, "sku-a", "receipt", request["quantity"],
        decision_id=request["decision_id"],
    )  # fmt: skip
    first.append(("inventory", receipt))
    produce_in_order(settings, first[-1:])
    worker.wait_idle(["inventory"])
    # RocksDB gone: state must come back from the changelog, read by our bulk restore (however
    # short the changelog) or by Faust's recovery (however long)
    threshold = 0 if restore == "bulk" else 10**9
    worker.settings = replace(settings, bulk_restore_min_records=threshold)
    worker.restart(wipe_local_state=True)
    # Input waiting while a worker ends its recovery is handed to the agents before Faust seeks the
    # partitions to their committed offsets, then fetched again; rarely one record is handled
    # only after later ones (README, "Restarts"). Sent once the worker is ready, each SKU's lines
    # arrive in order and must give exactly the replay's decisions.
    worker.wait_ready()
    restored = re.findall(r"restored (\d+) records of (\S+) in bulk", worker.log_since_restart())
    restored_topics = {name.rpartition("[")[0] for _, name in restored}
    if restore == "bulk":  # the SKU table's (the user table has no record: no clicks here)
        assert restored_topics == {f"{settings.app_id}-sku-state-changelog"}
    else:
        assert restored == []
    second = demand(DAYS[6:], "p2", start=T0 + 6 * 86_400)
    produce_in_order(settings, second)
    _, expected = replay(SkuEngine(), first + second)
    later = [
        o.value for o in expected if o.topic == "restock-requests" and o.value["sku_id"] == "sku-a"
    ]
    assert later[-1]["cycle_service"]["lead_time_correction"] > 0  # the pool came back too
    for name in ("restock-requests", "price-adjustments"):
        wanted = {o.value["decision_id"]: o.value for o in expected if o.topic == name}
        assert_same_decisions(by_id(consume_decisions(settings, name, set(wanted))), wanted)


def test_what_a_partition_pools_over_its_skus_comes_back_with_it(web_worker):
    """Pricing's list-price error and its blend with the categories' markups, the categories'
    pooled price responses and their priors for new SKUs are pooled over the SKUs of a
    partition and stored with them: a worker that lost its disk restores them, and prices as the
    in-process engine does (the old and a new SKU of the partition); its `/sku` view shows the
    partition's list-price error, the SKU's anchor and category prior, `/health` and `/metrics`
    the list-price error."""
    worker = web_worker
    settings = worker.settings
    partitions = load_catalogue()["inventory"].partitions
    pool_partition = partition_of("lp-0", partitions)
    skus = keys_on("inventory", pool_partition, 7, "lp-")
    old = skus[:6]  # enough for the category's pool to give each a prior
    # list prices 1.6× and 2.4× the cost, on either side of the optimum (1.5×, a response of
    # −3): each SKU's peers' markups give it a price the pool blends with its own
    opened = [
        x
        for i, sku in enumerate(old)
        for x in opening(sku, 400, lead_time_days=3, list_price=16.0 + 8.0 * (i % 2))
    ]
    first = [x for sku in old for x in priced_demand(sku, range(20))]
    worker.open_market(opened)
    produce_in_order(settings, first)
    worker.wait_idle(["orders", "order-lines"])
    engine = SkuEngine()
    replay(engine, opened + first)
    assert engine.list_price_error.sums()[0] == 6  # the SKUs' estimates take part
    assert engine.category_markups.sums("toys")[0] == 6
    assert engine.category_responses.prior("toys", None) is not None
    learned_prior = engine.category_priors.prior("toys")
    assert learned_prior != PRIOR_ELASTICITY
    worker.restart(wipe_local_state=True)
    worker.wait_ready()
    restart_day = T0 + 20 * 86_400
    newcomer = [
        ("catalog", catalog(skus[6], lead_time_days=3)),
        ("inventory", inventory(f"open-{skus[6]}", restart_day, skus[6], "snapshot", 400)),
    ]
    worker.open_market(newcomer)
    # a dearer supplier: the old SKUs' optimum moves, and pricing follows it
    cost_at = format_time(restart_day + 3_600)
    second = [
        ("price-changes", {"event_id": f"cost-{sku}", "occurred_at": cost_at, "sku_id": sku,
                           "kind": "cost", "price": 12.0})
        for sku in old
    ] + [x for sku in skus for x in priced_demand(sku, range(20, 28))]  # fmt: skip
    produce_in_order(settings, second)
    _, expected = replay(SkuEngine(), opened + first + newcomer + second)
    wanted = {o.value["decision_id"]: o.value for o in expected if o.topic == "price-adjustments"}
    later = [v for v in wanted.values() if v["occurred_at"] > format_time(restart_day)]
    assert later and all(v["list_price_error"] != 0.1 for v in later)  # the pool's, not the prior
    newcomers = [v for v in later if v["sku_id"] == skus[6]]
    assert newcomers  # priced from its category's prior and pool, as restored (compared below)
    records = consume_decisions(settings, "price-adjustments", set(wanted))
    assert_same_decisions(by_id(records), wanted)
    worker.wait_idle(["orders", "order-lines"])
    engine = SkuEngine()
    states, _ = replay(engine, opened + first + newcomer + second)
    status, shown = get(settings.web_port, f"/sku/{skus[0]}")
    assert status == 200
    assert shown["pricing"]["list_price_error"] == pytest.approx(engine.list_price_error.value())
    anchor = price_anchor(states[skus[0]], engine.list_price_error, engine.category_markups)
    assert 0.0 < anchor.list_share < 1.0  # a blend, learned from the restored pools
    assert shown["pricing"]["anchor"] == anchor_fields(anchor)
    category_prior = category_prior_view(states[skus[0]], engine.category_responses)
    assert category_prior is not None
    assert shown["elasticity"]["category_prior"] == pytest.approx(category_prior)
    status, health = get(settings.web_port, "/health")
    assert status == 200 and set(health["list_prices"]) == {str(p) for p in range(partitions)}
    assert health["list_prices"][str(pool_partition)] == {
        "error": pytest.approx(engine.list_price_error.value()),
        "skus": engine.list_price_error.sums()[0],
        "list_share": pytest.approx(anchor.list_share),
    }
    scraped = get(settings.web_port, "/metrics")[1]
    gauges = dict(
        re.findall(r'^realtime_mkt_list_price_error\{partition="(\d+)"\} (\S+)$', scraped, re.M)
    )
    assert set(gauges) == set(health["list_prices"])
    assert float(gauges[str(pool_partition)]) == pytest.approx(engine.list_price_error.value())
    shares = dict(
        re.findall(r'^realtime_mkt_list_price_share\{partition="(\d+)"\} (\S+)$', scraped, re.M)
    )
    assert float(shares[str(pool_partition)]) == pytest.approx(anchor.list_share)


def test_a_killed_worker_repeats_no_decision_under_a_new_id(worker):
    settings = worker.settings
    worker.open_market(master_data())
    history = demand(DAYS * 2, "k")
    produce_in_order(settings, history)
    consume(settings, "restock-requests", 3, settle=0.0)  # the worker is mid-stream
    worker.restart(wipe_local_state=False, kill=True)
    worker.wait_idle(["orders", "order-lines"], timeout=180)
    assert_every_decision_repeated_only_unchanged(settings, master_data() + history)


@pytest.mark.send_delay(5.0, "restock-requests", "price-adjustments")
def test_a_worker_killed_before_its_decisions_left_sends_every_one_after_restart(
    web_worker, monkeypatch
):
    worker, settings = web_worker, web_worker.settings
    worker.open_market(master_data())
    history = demand(DAYS * 2, "f")
    produce_in_order(settings, history)
    # every order taken in; the decisions of the last batch (of every batch, before this
    # version stored a SKU only once its batch's decisions were on the broker) wait 5 s to leave
    wait_for_events(settings.web_port, "orders", len(history), timeout=120)
    monkeypatch.delenv("REALTIME_MKT_FAULT_SEND_DELAY")
    worker.restart(wipe_local_state=False, kill=True)
    _, expected = replay(SkuEngine(), master_data() + history)
    deciding = {(o.value["sku_id"], o.value["trigger_event_id"]) for o in expected}
    # a SKU decided on more inputs than the decision log keeps (the old way to re-send them)
    assert max(Counter(sku for sku, _ in deciding).values()) > RECENT_DECISIONS
    for name in ("restock-requests", "price-adjustments"):
        wanted = {o.value["decision_id"]: o.value for o in expected if o.topic == name}
        assert_same_decisions(by_id(consume_decisions(settings, name, set(wanted))), wanted)


def test_a_broker_crash_and_a_worker_restarted_while_it_is_down_lose_no_decision(
    worker, local_broker
):
    settings = worker.settings
    worker.open_market(master_data())
    before = demand(DAYS * 2, "b")
    after = demand(DAYS, "a", start=T0 + 86_400 * len(DAYS) * 2)
    produce_in_order(settings, before)
    consume(settings, "restock-requests", 3, settle=0.0)  # the worker is mid-stream
    pid = local_broker.pid()
    os.kill(pid, signal.SIGKILL)
    while not exited(pid):
        time.sleep(0.1)
    # a worker (re)started before its broker waits for it, instead of exiting
    worker.restart(wipe_local_state=False, kill=True)
    worker.wait_logged("): no Kafka broker answers at", timeout=30)
    local_broker.start()
    worker.wait_ready(timeout=180)
    produce_in_order(settings, after)
    worker.wait_idle(["orders", "order-lines"], timeout=180)
    assert_every_decision_repeated_only_unchanged(settings, master_data() + before + after)


@pytest.mark.parametrize(
    ("variable", "status", "logged"),
    [
        # the producer gives up on the first restock request's batch: Faust committed past it
        pytest.param(
            "REALTIME_MKT_FAULT_UNDELIVERED",
            EXIT_UNDELIVERED,
            "produced records were not delivered",
            marks=pytest.mark.undelivered("restock-requests"),
        ),
        # the SKU agent raises on the batch of sku-a's sixth order's line: Faust restarted the
        # agent and committed the batch unhandled
        pytest.param(
            "REALTIME_MKT_FAULT_AGENT_RAISES",
            EXIT_AGENT_FAILED,
            "agent sku_events failed: RuntimeError",
            marks=pytest.mark.agent_raises("r-sku-a-5#0"),
        ),
    ],
)
def test_a_worker_that_cannot_go_on_ends_and_decides_every_input_after_its_restart(
    worker, monkeypatch, variable, status, logged
):
    settings = worker.settings
    worker.open_market(master_data())
    history = demand(DAYS * 2, "r")
    produce_in_order(settings, history)
    assert worker.process.wait(timeout=120) == status, worker.log_tail()  # committing nothing
    assert logged in worker.log_since_restart()
    monkeypatch.delenv(variable)
    worker.restart(wipe_local_state=False)
    worker.wait_idle(["orders", "order-lines"], timeout=180)
    assert_every_decision_repeated_only_unchanged(settings, master_data() + history)
