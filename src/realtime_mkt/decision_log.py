"""The decisions of each SKU's last few deciding inputs, kept to re-send them on redelivery.

Kept apart from the SKU state, which is rewritten to the table and its changelog on every event:
this log is written only when a SKU decides and read only on a redelivery or by the `/sku` view.
`store` is any mapping: a dict in-process, the worker's `sku-state` table in Faust. There the
entry goes to the same changelog partition as the SKU's state and is written before it, so a
persisted state (whose duplicate window holds the input) implies its decisions are persisted too.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from realtime_mkt.sku_state import event_fingerprint

RECENT_DECISIONS = 4  # inputs whose decisions are kept for re-sending on redelivery
Decisions = list[tuple[str, dict[str, Any]]]


def log_key(sku_id: str) -> tuple[str, str]:
    """The log's key in a store shared with SKU states (which are keyed by the bare `sku_id`)."""
    return ("decisions", sku_id)


class DecisionLog:
    """Per SKU: [[input fingerprint, [[topic, value], ...]], ...] for its last deciding inputs."""

    def __init__(self, store: MutableMapping[Any, Any] | None = None) -> None:
        self.store: MutableMapping[Any, Any] = {} if store is None else store

    def remember(self, sku_id: str, event_id: str, decisions: Decisions) -> None:
        """Keep the decisions an input caused, dropping the oldest input's beyond the window."""
        kept = self.store.get(log_key(sku_id)) or []
        entry = [event_fingerprint(event_id), [list(d) for d in decisions]]
        self.store[log_key(sku_id)] = [*kept[-(RECENT_DECISIONS - 1) :], entry]

    def decisions_of(self, sku_id: str, event_id: str) -> Decisions:
        """The decisions a recent input caused (empty if none, or too long ago)."""
        fingerprint = event_fingerprint(event_id)
        for fp, decisions in self.store.get(log_key(sku_id)) or []:
            if fp == fingerprint:
                return [(topic, value) for topic, value in decisions]
        return []

    def last(self, sku_id: str) -> Decisions:
        """Every kept decision of the SKU, oldest first."""
        return [
            (topic, value)
            for _, decisions in self.store.get(log_key(sku_id)) or []
            for topic, value in decisions
        ]
