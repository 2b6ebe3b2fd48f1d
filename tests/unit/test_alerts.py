"""The Prometheus rules in docs/alerts.yml read metrics the worker exports and link the runbook."""

import re
from pathlib import Path

import yaml

from realtime_mkt.streaming import metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"


def rules() -> list[dict]:
    groups = yaml.safe_load((DOCS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def exported_names() -> set[str]:
    """The series names `/metrics` can show (a counter `x` is exposed as `x_total`)."""
    return {
        f"{family.name}_total" if family.type == "counter" else family.name
        for family in metrics.REGISTRY.collect()
    }


def test_every_alert_reads_metrics_the_worker_exports():
    exported = exported_names()
    for rule in rules():
        used = set(re.findall(r"realtime_mkt_\w+", rule["expr"]))
        assert used <= exported, (rule["alert"], used - exported)
        assert used or rule["expr"].startswith('up{job="realtime-mkt"}'), rule["alert"]


def test_every_alert_has_a_severity_a_summary_and_a_runbook_entry():
    headings = {
        line.removeprefix("## ").strip()
        for line in (DOCS / "runbook.md").read_text().splitlines()
        if line.startswith("## ")
    }
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/runbook.md" and anchor in headings, rule["alert"]


def test_held_decision_alert_matches_the_reasons_the_engine_gives():
    engine_source = (Path(metrics.__file__).parents[1] / "engine.py").read_text()
    reasons = set(re.findall(r'outcome\.held = "(\w+)"', engine_source))
    (rule,) = [r for r in rules() if "decisions_held" in r["expr"]]
    pattern = re.search(r'reason=~"([^"]+)"', rule["expr"]).group(1)
    breakers = {reason for reason in reasons if re.fullmatch(pattern, reason)}
    assert breakers == {r for r in reasons if r.startswith("circuit_breaker")} and breakers
