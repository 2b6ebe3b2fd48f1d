"""The little the engine's shared bookkeeping needs of a store."""

from __future__ import annotations

from typing import Any, Protocol


class KeyValueStore(Protocol):
    """A dict in-process; in the worker, the SKU table as its agent's current batch sees it
    (`streaming.deferred_writes.DeferredWrites`)."""

    def get(self, key: Any, default: Any = None) -> Any:
        """The value stored under `key`, or `default`."""
        ...

    def __setitem__(self, key: Any, value: Any) -> None: ...
