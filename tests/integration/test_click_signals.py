"""Click signals (clicks and add-to-carts passed on to their SKU) survive a worker killed before
they left it, through the real broker."""

from __future__ import annotations

import json

import pytest

from tests.helpers import assert_valid, clicks
from tests.integration.kafka_io import consume_until, produce_in_order
from tests.integration.web import wait_for_events

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
        return {json.loads(r.value)["event_id"] for r in records}

    records = consume_until(
        settings, "sku-signals", lambda rs: wanted <= signal_ids(rs), timeout=120, settle=0
    )
    missing = wanted - signal_ids(records)
    assert not missing, f"signals never sent: {sorted(missing)}\n{worker.log_tail()}"
    for record in records:  # each names the click it was made of (README *Duplicates*)
        value = json.loads(record.value)
        assert_valid("sku-signals.v1", value)
        assert record.key.decode() == value["sku_id"] == "sku-a" and "origin" in value
