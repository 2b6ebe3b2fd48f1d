"""Shared in-memory models, checkpointed to the worker's data folder so a restart resumes learning.

A worker checkpoints with `save_in_background`: pickling the preference model of 100,000 users
takes about 2 s, and the event loop would stand still for that long every checkpoint (10–12.5 s
for a million users). The process forks instead, as Redis's BGSAVE does: the child pickles its
copy-on-write image of the models as they were at the fork and exits, while the worker goes on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import tempfile
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
ERROR_BYTES = 4096  # the most of a failed child's error message the parent reads
CHILD_NICENESS = 19  # added to the checkpoint child's niceness: it gets what CPU is idle


def load(path: Path, default: Any) -> Any:
    """The checkpointed object at `path`, or `default` if there is none or it cannot be read."""
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        return default
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        log.warning("ignoring unreadable checkpoint %s: %s", path, exc)
        return default


def save(path: Path, value: Any) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint intact. The temporary
    file is the writer's own, so two writers (a crashed worker's last checkpoint process and its
    successor's) never write into one file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


async def save_in_background(values: Mapping[Path, Any], timeout: float = 600.0) -> str | None:
    """Checkpoint each value to its path as it is now, in a forked child, without holding the
    event loop while they are pickled. Returns None once every file is written, else the
    child's error (the files it had not replaced keep their previous checkpoint). A child still
    running after `timeout` seconds is killed, so a hung one cannot hold up the worker's exit.

    The child only pickles and writes files: it takes no lock the parent's other threads (the
    consumer's, RocksDB's) could hold at the fork, and leaves with `os._exit`. It runs at the
    lowest CPU priority (CHILD_NICENESS): on two cores shared with the broker, a child pickling
    at the worker's priority took a core from it for the checkpoint's length, every 30 s, and
    the order → decision p99 at 2,000 events/s of the mix was 55–266 ms in seven runs of eleven
    (24–43 ms in seven of seven once niced; docs/benchmarks.md, *Latency*).
    """
    errors_out, errors_in = os.pipe()
    try:
        with warnings.catch_warnings():  # Python ≥ 3.12 warns about forking a threaded process
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
    except OSError as exc:  # e.g. no memory to fork a large worker under strict overcommit
        os.close(errors_out)
        os.close(errors_in)
        return f"could not fork the checkpoint process: {exc!r}"
    if pid == 0:  # the child
        os.close(errors_out)
        code = 0
        try:
            _leave_signals_to_the_parent()
            os.nice(CHILD_NICENESS)
            for path, value in values.items():
                save(path, value)
        except BaseException as exc:  # any failure, reported to the parent
            code = 1
            os.write(errors_in, repr(exc).encode()[:ERROR_BYTES])
        finally:
            os._exit(code)
    os.close(errors_in)
    try:
        ended = asyncio.get_running_loop().run_in_executor(None, os.waitpid, pid, 0)
        try:
            _, status = await asyncio.wait_for(asyncio.shield(ended), timeout)
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            await ended
            for path in values:  # what the killed child was writing
                for partial in path.parent.glob(f"{path.name}.*.tmp"):
                    partial.unlink(missing_ok=True)
            return f"checkpoint process killed after {timeout:g} s"
        message = os.read(errors_out, ERROR_BYTES).decode(errors="replace")
    finally:
        os.close(errors_out)
    if os.waitstatus_to_exitcode(status) == 0:
        return None
    return message or f"checkpoint process ended with status {os.waitstatus_to_exitcode(status)}"


def _leave_signals_to_the_parent() -> None:
    """In the checkpoint process: stop writing signals into the event loop's wakeup pipe, which
    is the parent's too, and finish the checkpoint when the worker's process group is told to
    stop (SIGKILL still ends it)."""
    if threading.current_thread() is threading.main_thread():
        signal.set_wakeup_fd(-1)
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, signal.SIG_IGN)
