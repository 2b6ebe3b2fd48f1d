"""Applying a batch of keyed events: grouped by key, each key's state read once and stored once.

The worker's agents take records from their inboxes in batches (`streaming/inbox.py`) and
acknowledge them only after the whole batch is handled, so writing each key's state once, after
its last event, keeps at-least-once: a crash before the write redelivers every event of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from realtime_mkt.events import InputEvent

S = TypeVar("S")
Tag = TypeVar("Tag")  # what the caller needs back per event (its record, for dead letters)


@dataclass
class KeyRun(Generic[Tag, S]):
    """What applying one key's events did.

    `outcomes` holds each event that applied (duplicates included), in order, with its outcome;
    `failures` the events whose processing raised, which changed nothing; `state` is what to
    store, or None when no event changed it.
    """

    outcomes: list[tuple[Tag, InputEvent, Any]] = field(default_factory=list)
    failures: list[tuple[Tag, Exception]] = field(default_factory=list)
    state: S | None = None


def by_key(
    items: Iterable[tuple[Tag, InputEvent]], field_name: str
) -> dict[str, list[tuple[Tag, InputEvent]]]:
    """Group `(tag, event)` pairs by the event's `field_name`, keeping their order within a key."""
    groups: dict[str, list[tuple[Tag, InputEvent]]] = {}
    for tag, event in items:
        groups.setdefault(event.value[field_name], []).append((tag, event))
    return groups


def apply_in_order(
    initial: Callable[[], S | None],
    items: Sequence[tuple[Tag, InputEvent]],
    apply: Callable[[S | None, InputEvent], Any],
) -> KeyRun[Tag, S]:
    """Apply one key's events in order to the state `initial()` builds (a fresh read of the
    store on each call); `apply` is an engine's (its outcome has `state` and `duplicate`).

    An event whose processing raises (a bug) may have changed the state half-way: the state is
    rebuilt from `initial()` with the events applied before it, whose outputs were already taken
    (the engine's process-wide bookkeeping, such as its circuit breaker, sees those events twice;
    only a bug leads here).
    """
    run: KeyRun[Tag, S] = KeyRun()
    state = initial()
    applied: list[InputEvent] = []
    for tag, event in items:
        try:
            outcome = apply(state, event)
        except Exception as exc:  # a bug: reported to the caller, which dead-letters the event
            run.failures.append((tag, exc))
            state = initial()
            for earlier in applied:
                state = apply(state, earlier).state
            continue
        state = outcome.state
        run.outcomes.append((tag, event, outcome))
        if not outcome.duplicate:
            applied.append(event)
    run.state = state if applied else None
    return run
