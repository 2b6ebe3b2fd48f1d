"""Click signals (clicks and add-to-carts passed on to their SKU) survive a worker killed before
they left it, through the real broker."""

from __future__ import annotations

import json

import pytest

from realtime_mkt.worker_process import stop_worker
from tests.helpers import assert_valid, clicks, keys_on, opening
from tests.integration.kafka_io import consume_until, produce_in_order
from tests.integration.web import get, sample, wait_for_events

pytestmark = pytest.mark.integration


@pytest.mark.send_delay(8.0, "sku-signals")
def test_a_worker_killed_before_its_click_signals_left_sends_them_after_restart(web_worker):
    worker, settings = web_worker, web_worker.settings
    sent = clicks("shopper", "sku-a", 10)
    produce_in_order(settings, sent)
    # the worker has learned from every click; their signals wait 8 s to reach the producer
    wait_for_events(settings.web_port, "clicks", len(sent))
    worker.restart(wipe_local_state=False, kill=True)
    wanted = {f"sig:{v['event_id']}" for _, v in sent if v["action"] == "click"}

    def signal_ids(records) -> set[str]:
        return {json.loads(r.value)["event_id"] for r in records if r.key is not None}

    records = consume_until(
        settings, "sku-signals", lambda rs: wanted <= signal_ids(rs), timeout=120, settle=0
    )
    missing = wanted - signal_ids(records)
    assert not missing, f"signals never sent: {sorted(missing)}\n{worker.log_tail()}"
    for record in records:  # each names the click it was made of (README *Duplicates*)
        value = json.loads(record.value)
        if record.key is None:  # how far a worker has read a clicks partition
            assert_valid("read-progress.v1", value)
            continue
        assert_valid("sku-signals.v1", value)
        assert record.key.decode() == value["sku_id"] == "sku-a" and "origin" in value


def test_the_clicks_of_users_read_in_one_batch_all_reach_their_sku(web_worker):
    worker, port = web_worker, web_worker.settings.web_port
    worker.open_market(opening("sku-a", 100))
    stop_worker(worker.process)
    # two users of one clicks partition, their clicks interleaved: read in one batch, applied
    # user by user, yet each SKU must get their signals in the partition's order
    users = keys_on("clicks", 0, 2, "user-")
    sent = [event for n in range(20) for user in users for event in clicks(user, "sku-a", 1)]
    for n, (_, value) in enumerate(sent):
        value["event_id"] = f"{value['event_id']}-{n}"
    produce_in_order(worker.settings, sent)
    worker.restart(wipe_local_state=False)
    worker.wait_ready()
    worker.wait_idle(["clicks", "sku-signals"])
    metrics = get(port, "/metrics")[1]
    assert sample(metrics, 'realtime_mkt_events_total{topic="clicks"}') == len(sent)
    assert sample(metrics, 'realtime_mkt_duplicates_total{topic="sku-signals"}') == 0
