"""What a starting worker waits for: a broker that answers, with every topic of its catalogue;
and a data folder no other worker holds; and what it refuses to start on: topics partitioned
otherwise than the catalogue says.

Faust's consumer gives up at start when no broker answers (a traceback), and a worker started
before its topics exist ignores them and never consumes them, even once they are created; so
the worker starts only once both are there, saying meanwhile what it waits for. A SKU-keyed
topic with another partition count than the SKU table would send a SKU's events to two
partitions' states; Faust starts on it without a word, so the worker does not. A second
worker on the same data folder joined the group, took partitions, waited half a minute on
RocksDB's locks and crashed, making the group rebalance twice.
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import time
from collections.abc import Callable
from typing import IO

from kafka.errors import KafkaError

from realtime_mkt.ops.local_broker import broker_answers, no_broker_answers
from realtime_mkt.ops.topic_admin import topic_problems
from realtime_mkt.settings import Settings

REPORT_EVERY = 30.0  # seconds between two reports of what a worker waits for


class TopicsMisfit(RuntimeError):
    """Topics exist with other partition counts than the catalogue's: waiting will not help."""


def not_ready(settings: Settings) -> str | None:
    """Why a worker on `settings` cannot start yet (None: it can), naming what to do.

    Raises `TopicsMisfit` for topics with another partition count than the catalogue's."""
    bootstrap = settings.bootstrap_servers
    if not broker_answers(bootstrap):
        return no_broker_answers(bootstrap)
    try:
        missing, differing = topic_problems(settings)
    except KafkaError as exc:  # the broker went away meanwhile
        return f"the Kafka broker at {bootstrap} does not list its topics: {exc}"
    if differing:
        raise TopicsMisfit(
            "; ".join(differing) + ": topics keyed alike and their changelogs share one "
            "partitioning, or a SKU's (user's) events reach two states; recreate them as "
            "`streams/topics.toml` says"
        )
    if missing:
        named = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        return (
            f"{len(missing)} of the worker's topics do not exist ({named}; "
            f"REALTIME_MKT_TOPIC_PREFIX={settings.topic_prefix!r}): `realtime-mkt topics create` "
            "makes them"
        )
    return None


def wait_until_ready(
    check: Callable[[], str | None],
    timeout: float,
    report: Callable[[float, str], None],
    poll: float = 2.0,
    report_every: float = REPORT_EVERY,
) -> str | None:
    """Call `check` until it returns None, for at most `timeout` seconds; return its last
    answer (None: ready). `report(seconds waited, reason)` is called when the first check
    fails, and every `report_every` seconds after."""
    start = time.monotonic()
    reported = -math.inf
    while (reason := check()) is not None:
        waited = time.monotonic() - start
        if waited >= timeout:
            return reason
        if waited - reported >= report_every:
            report(waited, reason)
            reported = waited
        time.sleep(min(poll, timeout - waited))
    return None


def open_data_dir_lock(settings: Settings) -> IO[str]:
    """The worker's data folder's lock file, opened (created with the folder if need be)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return (settings.data_dir / "worker.lock").open("a+")


def data_dir_held(lock: IO[str], settings: Settings) -> str | None:
    """Take the data folder's lock for this process, until it exits (None), or say which
    process holds it.

    A POSIX record lock: a forked child (the model checkpoint) does not hold it, and a killed
    worker's is released with its process, so its restart finds the folder free."""
    try:
        fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EAGAIN):
            raise
        lock.seek(0)
        holder = lock.read().strip() or "?"
        return (
            f"another worker (pid {holder}) uses REALTIME_MKT_DATA_DIR={settings.data_dir}: "
            "each worker needs a data folder of its own"
        )
    lock.seek(0)
    lock.truncate()
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return None
