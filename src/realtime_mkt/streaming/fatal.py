"""Ending the worker at once, as a kill would, where going on would commit inputs whose outputs
or states were lost: restarted, the worker reads the inputs since its last commit again and
makes their decisions again, under the same `decision_id`s (what the SIGKILL tests check).

Faust would go on in both cases: it counts a record its producer gave up on and commits the
inputs past it, and its supervisor restarts a crashed agent while the batch it was handling is
committed unhandled (a batch that crashed the SKU agent lost half the restock requests of a
test's orders).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

log = logging.getLogger(__name__)

EXIT_UNDELIVERED = 75  # EX_TEMPFAIL: start the worker again once the broker takes records
EXIT_AGENT_FAILED = 70  # EX_SOFTWARE: a bug outside an event's own processing


def end_worker(
    status: int, what: str, *args: Any, traceback: BaseException | None = None
) -> NoReturn:
    """Log `what % args` (with the `traceback` of an exception) and end the process with
    `status`, without committing or storing anything more."""
    log.critical(
        what + " Exiting at once, without committing: restarted, the worker reads the inputs "
        "since its last commit again and makes their decisions again, under the same "
        "decision_ids",
        *args,
        exc_info=traceback,
    )
    logging.shutdown()
    os._exit(status)


def ends_worker_on_error(
    agent: Callable[[Any], Awaitable[None]],
) -> Callable[[Any], Awaitable[None]]:
    """Wrap an agent so that an exception escaping it ends the worker (`EXIT_AGENT_FAILED`)
    instead of Faust's restart of the agent. An event's own failure never gets here: it is
    dead-lettered where it is processed."""

    @functools.wraps(agent)
    async def run(stream: Any) -> None:
        try:
            await agent(stream)
        except Exception as exc:
            end_worker(
                EXIT_AGENT_FAILED, "agent %s failed: %r.", agent.__name__, exc, traceback=exc
            )

    return run
