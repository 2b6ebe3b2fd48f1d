"""Web views and promotions of a worker with every model on, through the real broker."""

from __future__ import annotations

import json
import re
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest

from realtime_mkt.catalogue import topic
from realtime_mkt.events import format_time
from realtime_mkt.ops.lag import group_lag
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.policies.cycle_service import POOL_RATE, RATE
from realtime_mkt.policies.restock import safety_factor
from realtime_mkt.streaming import checkpoint
from realtime_mkt.streaming.routing import partition_of
from realtime_mkt.worker_process import free_port, stop_worker
from tests.helpers import (
    T0,
    assert_valid,
    clicks,
    demand_history,
    encoded,
    inventory,
    opening,
    order,
)
from tests.integration.conftest import RunningWorker
from tests.integration.kafka_io import (
    consume,
    consume_until,
    members_partitions,
    produce,
    produce_in_order,
    two_members_sharing,
)
from tests.integration.web import get, sample

pytestmark = pytest.mark.integration


def wait_for_lag_gauges(
    port: int, expected: dict[tuple[str, str], float], timeout: float = 60
) -> dict[tuple[str, str], float]:
    """The `realtime_mkt_consumer_lag_records` samples by (topic, partition), once they equal
    `expected` (the worker measures every 15 s), or the last ones seen."""
    pattern = re.compile(
        r'realtime_mkt_consumer_lag_records\{partition="(\d+)",topic="([^"]+)"\} (\S+)'
    )
    deadline = time.monotonic() + timeout
    samples: dict[tuple[str, str], float] = {}
    while time.monotonic() < deadline and samples != expected:
        time.sleep(1)
        text = get(port, "/metrics")[1]
        samples = {(t, p): float(v) for p, t, v in pattern.findall(text)}
    return samples


def wait_for_checkpoint(path: Path, health: dict, timeout: float = 75) -> dict | None:
    """The health of the CTR model checkpointed at `path`, once it equals `health` (the worker
    checkpoints every 30 s), or the last one read."""
    deadline = time.monotonic() + timeout
    saved = None
    while time.monotonic() < deadline and saved != health:
        time.sleep(1)
        model = checkpoint.load(path, None)
        saved = model.health() if model is not None else None
    return saved


def test_views_metrics_and_an_overstock_promotion(web_worker):
    worker, settings = web_worker, web_worker.settings
    worker.open_market(opening("sku-over", 5000))
    produce_in_order(settings, clicks("fan", "sku-over", 30) + clicks("other", "sku-else", 5))
    produce_in_order(settings, demand_history("sku-over", [10] * 6))
    worker.wait_idle(["clicks", "orders", "order-lines"])
    promos = [json.loads(r.value) for r in consume(settings, "promo-adjustments", 1)]
    assert promos and promos[0]["action"] == "start"
    for promo in promos:
        assert_valid("promo-adjustments.v1", promo)
    assert "fan" in promos[0]["audience"]["user_ids"]

    # a receipt on the last day of sales ends a replenishment cycle that never ran out
    receipt = inventory("rcv-over", T0 + 5 * 86_400 + 50_000, "sku-over", "receipt", 40)
    produce_in_order(settings, [("inventory", receipt)])
    worker.wait_idle(["inventory"])
    # an order of day 4 arrives after the receipt of day 5: its line counts in day 5, and late
    produce_in_order(
        settings, [("orders", order("late", T0 + 4 * 86_400 + 100, [("sku-over", 2)]))]
    )
    worker.wait_idle(["orders", "order-lines"])

    status, sku = get(settings.web_port, "/sku/sku-over")
    assert status == 200 and sku["on_hand"] == 5000 - 60 + 40 - 2
    assert sku["promotion"]["discount"] > 0
    # read from the SKU's partition's pool, in which no SKU is sure enough yet: the prior
    assert sku["pricing"]["list_price"] == 20.0 and sku["pricing"]["list_price_error"] == 0.1
    assert {d["topic"] for d in sku["last_decisions"]} >= {"promo-adjustments"}
    # the clean cycle lowered the SKU's own correction and its lead time's pooled one
    assert sku["cycle_service"] == {
        "safety_factor": pytest.approx(safety_factor(0.95) - (RATE + POOL_RATE) * 0.05),
        "z_correction": pytest.approx(-RATE * 0.05),
        "lead_time_correction": pytest.approx(-POOL_RATE * 0.05),
        "cycles": 1,
        "stocked_out_cycles": 0,
    }
    status, forecast = get(settings.web_port, "/forecast/sku-over")
    assert status == 200 and forecast["mean_per_day_at_list_price"] == pytest.approx(10)
    assert forecast["price"] == sku["promotion"]["price"] < sku["price"]  # at the promotion's
    assert forecast["mean_per_day"] > 0
    assert forecast["day"] == format_time(T0 + 6 * 86_400)[:10]  # the day after the receipt's
    assert get(settings.web_port, "/forecast/nope")[0] == 404
    status, recommended = get(settings.web_port, "/recommendations/other?k=2")
    assert status == 200 and recommended["items"][0] in {"sku-over", "sku-else"}
    worker_metrics = get(settings.web_port, "/metrics")[1]
    assert 'realtime_mkt_events_total{topic="clicks"} 70.0' in worker_metrics
    promos_counted = sample(
        worker_metrics, 'realtime_mkt_decisions_total{topic="promo-adjustments"}'
    )
    assert promos_counted >= len(promos) >= 1  # each promotion read back was counted
    assert 'realtime_mkt_restock_cycles_total{outcome="clean"} 1.0' in worker_metrics
    assert sample(worker_metrics, "realtime_mkt_late_sales_total") == 1
    inputs = ["catalog", "inventory", "clicks", "orders", "order-lines", "sku-signals"]
    worker.wait_idle(inputs)  # sku-signals too: the worker sends them to itself
    lag_rows = {
        (r.topic, str(r.partition)): r
        for r in group_lag(settings.bootstrap_servers, settings.app_id)
    }
    assert lag_rows and all(r.lag == 0 for r in lag_rows.values())  # the worker is idle
    expected = {key: 0.0 for key in lag_rows}
    assert wait_for_lag_gauges(settings.web_port, expected) == expected  # `realtime-mkt lag`'s
    status, health = get(settings.web_port, "/health")
    assert health["ctr"]["n"] == 35 and health["ctr"]["positives"] == 35  # every impression clicked
    assert health["preference"]["n"] == 35 + 6 + 1  # the late order's purchase too
    saved = wait_for_checkpoint(settings.data_dir / "models" / "ctr.pkl", health["ctr"])
    assert saved == health["ctr"]  # written by the worker's forked checkpoint process
    worker_metrics = get(settings.web_port, "/metrics")[1]
    assert sample(worker_metrics, "realtime_mkt_checkpoint_seconds") > 0
    assert sample(worker_metrics, "realtime_mkt_checkpoint_failures_total") == 0
    assert sample(worker_metrics, "realtime_mkt_gc_frozen_objects") > 10_000  # its models, Faust
    assert sample(worker_metrics, "process_resident_memory_bytes") > 0


def test_a_worker_with_the_web_off_leaves_its_port_free(worker):
    worker.open_market(opening("sku-a", 10))  # the worker is up and consuming
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", worker.settings.web_port), timeout=5).close()


def test_two_workers_share_orders_and_answer_the_views_of_each_others_skus(
    fresh_settings, tmp_path
):
    """Two workers split the partitions; each answers `/sku/<id>` and `/forecast/<id>` for all
    SKUs, the other's by asking it. An order's lines are applied by the worker that reads the
    order where it holds their SKU's partition, and sent through `order-lines` otherwise, naming
    the order and where their worker began reading its partition (README *Duplicates*)."""
    first = replace(fresh_settings, web_enabled=True, web_port=free_port())
    second = replace(first, web_port=free_port(), data_dir=first.data_dir.parent / "second")
    create_topics(first)
    skus = [f"sku-{i}" for i in range(12)]
    workers = [RunningWorker(first, tmp_path)]
    try:
        # the first worker commits on every partition before the second joins (README *Scaling out*)
        workers[0].open_market([v for sku in skus for v in opening(sku, 100 + int(sku[4:]))])
        (tmp_path / "second").mkdir()
        workers.append(RunningWorker(second, tmp_path / "second"))
        held = two_members_sharing(first)
        assert set().union(*held) == set(range(topic("inventory").partitions))
        for worker in workers:
            worker.wait_ready()
        for sku in skus:
            answers = [get(w.settings.web_port, f"/sku/{sku}") for w in workers]
            assert answers[0] == answers[1] and answers[0][0] == 200, (sku, answers)
            assert answers[0][1]["on_hand"] == 100 + int(sku[4:])
            forecasts = [get(w.settings.web_port, f"/forecast/{sku}") for w in workers]
            assert forecasts[0] == forecasts[1] and forecasts[0][0] == 200
        assert all(get(w.settings.web_port, "/sku/nope")[0] == 404 for w in workers)

        orders = [order(f"multi-{i}", T0 + 60, [(sku, 1) for sku in skus]) for i in range(4)]
        placed = produce(first, [("orders", o["order_id"].encode(), encoded(o)) for o in orders])
        sku_partitions = members_partitions(first, "order-lines")
        reader_holds = {
            p: sku_partitions[i]
            for i, ps in enumerate(members_partitions(first, "orders"))
            for p in ps
        }
        forwarded = sum(
            partition_of(sku, 4) not in reader_holds[partition]
            for _, partition, _ in placed
            for sku in skus
        )
        assert {partition_of(sku, 4) for sku in skus} == set(range(4))  # both ways are taken
        workers[0].wait_idle(["orders", "order-lines"])
        for sku in skus:
            answers = [get(w.settings.web_port, f"/sku/{sku}") for w in workers]
            assert answers[0][1]["on_hand"] == answers[1][1]["on_hand"] == 100 + int(sku[4:]) - 4
        records = consume_until(
            first,
            "order-lines",
            lambda read: sum(r.key is not None for r in read) >= forwarded,
            timeout=10,
            settle=3.0,
        )
        lines = [r for r in records if r.key is not None]
        assert len(lines) == forwarded
        # each worker wrote how far it read each of its orders and clicks partitions into every
        # partition of `order-lines` and `sku-signals` (`streaming/read_progress.py`); the last
        # word on each: read to its end
        pairs = {(q, p) for q in range(4) for p in range(4)}
        signals = consume_until(
            first, "sku-signals", lambda read: set(last_progress(read)) == pairs, 10, settle=3.0
        )
        for progress in (last_progress(records), last_progress(signals)):
            assert set(progress) == pairs
            assert all(value["caught_up"] for value in progress.values())
        first_read = {p: min(o for _, q, o in placed if q == p) for _, p, _ in placed}
        for record in lines:
            value = json.loads(record.value)
            assert record.key.decode() == value["sku_id"]
            assert_valid("order-lines.v1", value)
            origin = value["origin"]
            assert (origin["offset"], origin["partition"]) in {(o, p) for _, p, o in placed}
            assert origin["since"] == first_read[origin["partition"]]
    finally:
        for worker in workers:
            stop_worker(worker.process)


def last_progress(records: list) -> dict[tuple[int, int], dict]:
    """The last progress record (keyless, validated) in each partition of a relay topic, for
    each input partition it tells of."""
    progress = {}
    for record in records:
        if record.key is None:
            value = json.loads(record.value)
            assert_valid("read-progress.v1", value)
            progress[record.partition, value["partition"]] = value
    return progress
