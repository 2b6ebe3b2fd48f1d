"""Shared by the baseline scripts: time from the first record seen to the expected last one.

The runner pre-loads the source topic, so this is the consumer's own rate, free of start-up,
group-join and producer limits. Configured by `BENCH_EXPECTED` and `BENCH_RESULT` (a file that
receives the elapsed seconds).
"""

from __future__ import annotations

import os
import time
from pathlib import Path


class Stopwatch:
    """Counts records; writes the elapsed seconds once the expected count is reached."""

    def __init__(self) -> None:
        self.expected = int(os.environ["BENCH_EXPECTED"])
        self.result = Path(os.environ["BENCH_RESULT"])
        self.seen = 0
        self.started = 0.0

    def count(self) -> None:
        """Count one record."""
        if self.seen == 0:
            self.started = time.perf_counter()
        self.seen += 1
        if self.seen == self.expected:
            self.result.write_text(f"{time.perf_counter() - self.started}\n")
