"""Prometheus metrics of the worker, served at `/metrics` on the Faust web port."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, GCCollector, ProcessCollector

from realtime_mkt.engine import CYCLE_OUTCOMES, HOLD_REASONS
from realtime_mkt.ops.lag import PartitionLag

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes, process_cpu_seconds_total, ...
GCCollector(registry=REGISTRY)  # python_gc_collections_total by generation, ...
CONTENT_TYPE = "text/plain; version=0.0.4"  # prometheus_client's CONTENT_TYPE_LATEST minus charset
EVENTS = Counter(
    "realtime_mkt_events_total", "Input records processed, by topic", ["topic"], registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "realtime_mkt_dead_letters_total",
    "Input records sent to the dead-letter topic, by source topic",
    ["topic"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "realtime_mkt_duplicates_total",
    "Input records dropped as already applied (by read position, origin or recent event_id), by topic",
    ["topic"],
    registry=REGISTRY,
)
DECISIONS = Counter(
    "realtime_mkt_decisions_total",
    "Decisions emitted, by output topic",
    ["topic"],
    registry=REGISTRY,
)
HELD = Counter(
    "realtime_mkt_decisions_held_total",
    "Price decisions held by a cooldown or circuit breaker, by reason",
    ["reason"],
    registry=REGISTRY,
)
RESTOCK_CYCLES = Counter(
    "realtime_mkt_restock_cycles_total",
    "Replenishment cycles (receipt to receipt) ended, by outcome: clean or stocked_out; "
    "clean over all is the realised cycle service level",
    ["outcome"],
    registry=REGISTRY,
)
LATE_SALES = Counter(
    "realtime_mkt_late_sales_total",
    "Order lines (placed or cancelled) applied after their SKU had closed their event-time day: "
    "counted in the SKU's open day instead, so both days' demand is learned wrong",
    registry=REGISTRY,
)
LATE_CLICKS = Counter(
    "realtime_mkt_late_click_signals_total",
    "Click signals applied after their SKU had closed their event-time day: counted in the "
    "SKU's open day instead, so the click surprise demand forecasts lean on is off",
    registry=REGISTRY,
)
DAYS_HELD_OPEN = Gauge(
    "realtime_mkt_days_held_open",
    "Event-time days this worker's SKUs keep open because orders or clicks of them may still "
    "come: the newest sale's day minus the earliest day an orders or clicks partition still "
    "being read is on (streaming/read_progress.py); 0 live, at most engine.MAX_DAYS_AHEAD",
    registry=REGISTRY,
)
MODEL_HEALTH = Gauge(
    "realtime_mkt_model_health",
    "Progressive-validation metrics of the shared models (log loss, calibration, MAE, ...)",
    ["model", "metric"],
    registry=REGISTRY,
)
CHECKPOINT_FAILURES = Counter(
    "realtime_mkt_checkpoint_failures_total",
    "Model checkpoints that failed (the previous checkpoint stands)",
    registry=REGISTRY,
)
FROZEN_OBJECTS = Gauge(
    "realtime_mkt_gc_frozen_objects",
    "Objects in Python's permanent generation, out of reach of the cyclic collector "
    "(streaming/heap.py): grows with the models; steady growth at a steady model size is "
    "garbage cycles kept",
    registry=REGISTRY,
)
CHECKPOINT_SECONDS = Gauge(
    "realtime_mkt_checkpoint_seconds",
    "How long the last model checkpoint took to write, in its forked process",
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "realtime_mkt_consumer_lag_records",
    "The worker group's lag per partition: log-end offset minus committed offset (`realtime-mkt lag`)",
    ["topic", "partition"],
    registry=REGISTRY,
)
CONSUMER_LAG_SECONDS = Gauge(
    "realtime_mkt_consumer_lag_seconds",
    "Age of the oldest record the group has not committed, per partition (0 when caught up)",
    ["topic", "partition"],
    registry=REGISTRY,
)


STANDBY_LAG = Gauge(
    "realtime_mkt_standby_lag_records",
    "Changelog records of a partition this worker keeps a standby copy of, not yet in the copy",
    ["topic", "partition"],
    registry=REGISTRY,
)
LIST_PRICE_ERROR = Gauge(
    "realtime_mkt_list_price_error",
    "How far list prices typically are from their profit optimum (RMS of ln(optimum / list "
    "price)) as the SKUs of a partition this worker holds have shown it, the configured 0.1 "
    "counting as 10 SKUs (policies/list_price_error.py): the trust pricing gives list prices",
    ["partition"],
    registry=REGISTRY,
)
LIST_PRICE_SKUS = Gauge(
    "realtime_mkt_list_price_error_skus",
    "SKUs of a partition this worker holds whose estimate takes part in its list-price error",
    ["partition"],
    registry=REGISTRY,
)
LIST_PRICE_SHARE = Gauge(
    "realtime_mkt_list_price_share",
    "The list price's share of pricing's anchor on a partition this worker holds: 1 while list "
    "prices alone are trusted, below 1 once its SKUs have shown their categories' markups nearer "
    "the optimum (policies/list_price_error.py)",
    ["partition"],
    registry=REGISTRY,
)


def export_known_labels(consumed: Iterable[str], decided: Iterable[str]) -> None:
    """Export every labelled counter at 0 for each label value it can take (the topics the worker
    consumes and decides on, hold reasons, cycle outcomes) before anything happens.

    Prometheus' `rate()` and `increase()` see no increase into a series' first scrape: a counter
    that first appeared with its first dead letters would hide them from the alerts.
    """
    for name in consumed:
        for counter in (EVENTS, DEAD_LETTERS, DUPLICATES):
            counter.labels(name)
    for name in decided:
        DECISIONS.labels(name)
    for reason in HOLD_REASONS:
        HELD.labels(reason)
    for outcome in CYCLE_OUTCOMES:
        RESTOCK_CYCLES.labels(outcome)


def export_lag(rows: Iterable[PartitionLag]) -> None:
    """Replace the lag gauges' samples by `rows`: a partition no longer listed disappears."""
    CONSUMER_LAG.clear()
    CONSUMER_LAG_SECONDS.clear()
    for row in rows:
        labels = (row.topic, str(row.partition))
        CONSUMER_LAG.labels(*labels).set(row.lag)
        if row.lag_seconds is not None:  # the oldest unconsumed record could not be read
            CONSUMER_LAG_SECONDS.labels(*labels).set(row.lag_seconds)


def export_list_prices(pools: Mapping[int, tuple[float, int, float]]) -> None:
    """Replace the list-price gauges' samples by `pools` (partition -> (error, SKUs, the list
    price's share of the anchor)): only the partitions the worker holds now."""
    for gauge in (LIST_PRICE_ERROR, LIST_PRICE_SKUS, LIST_PRICE_SHARE):
        gauge.clear()
    for partition, (error, skus, share) in pools.items():
        LIST_PRICE_ERROR.labels(str(partition)).set(error)
        LIST_PRICE_SKUS.labels(str(partition)).set(skus)
        LIST_PRICE_SHARE.labels(str(partition)).set(share)


def export_standby_lag(lags: Mapping[tuple[str, int], int]) -> None:
    """Replace the standby lag gauge's samples by `lags` ((topic, partition) -> records)."""
    STANDBY_LAG.clear()
    for (topic, partition), lag in lags.items():
        STANDBY_LAG.labels(topic, str(partition)).set(lag)
