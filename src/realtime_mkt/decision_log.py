"""The decisions of each SKU's last few deciding inputs, for the `/sku` view.

Kept apart from the SKU state, which is rewritten to the table and its changelog on every
batch that touches the SKU: this log is written only when a SKU decides and read only by the
view. `store` is a dict in-process; in the worker, the `sku-state` table as the SKU agent's
batch sees it (written with the batch's states, once its outputs are on the broker).
"""

from __future__ import annotations

from typing import Any

from realtime_mkt.key_value import KeyValueStore
from realtime_mkt.sku_state import event_fingerprint

RECENT_DECISIONS = 4  # deciding inputs whose decisions a SKU keeps
Decisions = list[tuple[str, dict[str, Any]]]


def log_key(sku_id: str) -> tuple[str, str]:
    """The log's key in a store shared with SKU states (which are keyed by the bare `sku_id`)."""
    return ("decisions", sku_id)


class DecisionLog:
    """Per SKU: [[input fingerprint, [[topic, value], ...]], ...] for its last deciding inputs."""

    def __init__(self, store: KeyValueStore | None = None) -> None:
        self.store: KeyValueStore = {} if store is None else store

    def remember(self, sku_id: str, event_id: str, decisions: Decisions) -> None:
        """Keep the decisions an input caused, dropping the oldest input's beyond the window."""
        kept = self.store.get(log_key(sku_id)) or []
        entry = [event_fingerprint(event_id), [list(d) for d in decisions]]
        self.store[log_key(sku_id)] = [*kept[-(RECENT_DECISIONS - 1) :], entry]

    def last(self, sku_id: str) -> Decisions:
        """Every kept decision of the SKU, oldest first."""
        return [
            (topic, value)
            for _, decisions in self.store.get(log_key(sku_id)) or []
            for topic, value in decisions
        ]
