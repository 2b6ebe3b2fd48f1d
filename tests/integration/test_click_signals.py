"""Click signals (clicks and add-to-carts passed on to their SKU) survive a worker killed before
they left it, through the real broker."""

from __future__ import annotations

import json
import time
import urllib.error

import pytest

from tests.helpers import clicks
from tests.integration.kafka_io import consume_until, produce_in_order
from tests.integration.web import get, value

pytestmark = pytest.mark.integration


def wait_for_events(port: int, topic: str, count: int, timeout: float = 60) -> None:
    """Wait until the worker's `/metrics` counts `count` records of `topic` taken in."""
    series = f'realtime_mkt_events_total{{topic="{topic}"}}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            taken = value(str(get(port, "/metrics")[1]), series)
        except urllib.error.URLError:  # the worker's web server is not up yet
            taken = None
        if taken is not None and taken >= count:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the worker did not take in {count} {topic} records within {timeout}s")


@pytest.mark.signal_send_delay(8.0)
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
