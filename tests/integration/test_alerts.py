"""docs/alerts.yml evaluated by a real Prometheus server on a live worker through the real broker:
the rules load and evaluate, and dead letters and a dead worker raise their alerts."""

from __future__ import annotations

import json
import math

import pytest

from tests.helpers import alert_rules, clicks
from tests.integration.kafka_io import produce
from tests.integration.prometheus import prometheus_scraping

pytestmark = pytest.mark.integration

QUIET = {  # alerts a healthy worker raises none of
    "RealtimeMktWorkerDown",
    "RealtimeMktWorkerRestarting",
    "RealtimeMktCheckpointsFailing",
    "RealtimeMktDecisionsBehind",
}


def dead_letter_share() -> str:
    """The RealtimeMktDeadLetters expression without its threshold: the share dead-lettered."""
    (rule,) = [r for r in alert_rules() if r["alert"] == "RealtimeMktDeadLetters"]
    share, _, threshold = rule["expr"].strip().rpartition(">")
    assert float(threshold) == 0.01
    return share


def test_dead_letters_and_a_dead_worker_raise_their_alerts(web_worker, tmp_path):
    worker, settings = web_worker, web_worker.settings
    worker.wait_ready()
    with prometheus_scraping(settings.web_port, tmp_path) as prometheus:
        # the counter is scraped at 0 before the first dead letter, or rate() would miss it
        (before,) = prometheus.wait_for(
            'realtime_mkt_dead_letters_total{job="realtime-mkt", topic="clicks"}'
        )
        assert before["value"][1] == "0"
        good = [
            ("clicks", v["user_id"].encode(), json.dumps(v).encode())
            for _, v in clicks("u", "s", 10)
        ]
        bad = [("clicks", b"u", b"{not json")] * 3
        produce(settings, [*good[:10], *bad, *good[10:]])
        worker.wait_idle(["clicks"])

        alert = prometheus.wait_for_alert("RealtimeMktDeadLetters")
        assert alert["state"] == "pending"  # for 15 minutes before it fires
        assert alert["labels"]["topic"] == "clicks" and alert["labels"]["severity"] == "ticket"
        expected = len(bad) / (len(good) + len(bad))

        def share_of_clicks(result: list[dict]) -> float | None:
            shares = {r["metric"]["topic"]: float(r["value"][1]) for r in result}
            return shares.get("clicks")

        # once the last records' counts are scraped; other topics' shares are 0/0 = NaN
        result = prometheus.wait_for(
            dead_letter_share(),
            lambda result: share_of_clicks(result) == pytest.approx(expected),
            timeout=30,
        )
        assert all(
            math.isnan(float(r["value"][1])) or float(r["value"][1]) == 0
            for r in result
            if r["metric"]["topic"] != "clicks"
        )
        rules = [r for group in prometheus.api("rules")["groups"] for r in group["rules"]]
        assert len(rules) == len(alert_rules())
        assert all(r["health"] == "ok" for r in rules), rules  # every rule evaluates
        raised = {a["labels"]["alertname"] for a in prometheus.alerts()}
        assert not raised & QUIET, raised

        worker.process.kill()
        worker.process.wait()
        down = prometheus.wait_for_alert("RealtimeMktWorkerDown")
        assert down["labels"]["instance"] == f"127.0.0.1:{settings.web_port}"
        assert down["labels"]["severity"] == "page"
