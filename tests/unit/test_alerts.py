"""The Prometheus rules in docs/alerts.yml read metrics the worker exports (its own and its
process's) and link the runbook."""

import re
from pathlib import Path

from realtime_mkt.catalogue import load_catalogue
from realtime_mkt.decisions import DECISION_TOPICS
from realtime_mkt.engine import (
    CYCLE_OUTCOMES,
    HELD_ABSURD_COMPETITOR,
    HELD_MANY_SKUS_MOVING,
    HOLD_REASONS,
)
from realtime_mkt.streaming import app, metrics
from tests.helpers import alert_rules

DOCS = Path(__file__).resolve().parents[2] / "docs"


def exported_names() -> set[str]:
    """The series names `/metrics` can show (a counter `x` is exposed as `x_total`)."""
    return {
        f"{family.name}_total" if family.type == "counter" else family.name
        for family in metrics.REGISTRY.collect()
    }


def test_every_alert_reads_metrics_the_worker_exports():
    exported = exported_names()
    for rule in alert_rules():
        used = set(re.findall(r"\b(?:realtime_mkt|process)_\w+", rule["expr"]))
        assert used <= exported, (rule["alert"], used - exported)
        assert used or rule["expr"].startswith('up{job="realtime-mkt"}'), rule["alert"]


def test_every_alert_has_a_severity_a_summary_and_a_runbook_entry():
    headings = {
        line.removeprefix("## ").strip()
        for line in (DOCS / "runbook.md").read_text().splitlines()
        if line.startswith("## ")
    }
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/runbook.md" and anchor in headings, rule["alert"]


def test_held_decision_alert_matches_the_reasons_the_engine_gives():
    (rule,) = [r for r in alert_rules() if "decisions_held" in r["expr"]]
    pattern = re.search(r'reason=~"([^"]+)"', rule["expr"]).group(1)
    breakers = {reason for reason in HOLD_REASONS if re.fullmatch(pattern, reason)}
    assert breakers == {HELD_ABSURD_COMPETITOR, HELD_MANY_SKUS_MOVING}


def test_every_label_value_an_alert_can_read_is_exported_before_anything_happens():
    """`rate()` sees no increase into a series' first scrape: the series must be there at 0
    once the worker's app exists (`streaming.app` creates it on import)."""
    consumed = [n for n, spec in load_catalogue().items() if spec.role in ("input", "internal")]
    exported = {
        (sample.name, tuple(sorted(sample.labels.items())))
        for family in metrics.REGISTRY.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    expected = {
        *(("realtime_mkt_dead_letters_total", (("topic", n),)) for n in consumed),
        *(("realtime_mkt_events_total", (("topic", n),)) for n in consumed),
        *(("realtime_mkt_decisions_total", (("topic", n),)) for n in DECISION_TOPICS),
        *(("realtime_mkt_decisions_held_total", (("reason", r),)) for r in HOLD_REASONS),
        *(("realtime_mkt_restock_cycles_total", (("outcome", o),)) for o in CYCLE_OUTCOMES),
    }
    assert app.app.conf.id and expected <= exported
    assert {"clicks", "orders", "sku-ticks"} <= set(consumed)
