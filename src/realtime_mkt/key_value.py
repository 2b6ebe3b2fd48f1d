"""The little the engine's shared bookkeeping needs of a store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class KeyValueStore(Protocol):
    """A dict in-process; in the worker, the SKU table as its agent's current batch sees it
    (`streaming.deferred_writes.DeferredWrites`)."""

    def get(self, key: Any, default: Any = None) -> Any:
        """The value stored under `key`, or `default`."""
        ...

    def __setitem__(self, key: Any, value: Any) -> None: ...


def replaced_part(
    sums: Sequence[float], old: Sequence[float] | None, new: Sequence[float] | None
) -> list[float]:
    """A pool's `sums` with one member's `old` part taken out and its `new` one added (None:
    no part): how every pool over SKUs keeps each SKU once, with its latest part."""
    result = list(sums)
    for part, sign in ((old, -1.0), (new, 1.0)):
        if part is not None:
            result = [x + sign * p for x, p in zip(result, part, strict=True)]
    return result
