"""Run the Faust worker as a child process (used by the demo, the tests and the benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from realtime_mkt.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process see the same settings."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "REALTIME_MKT_TOPIC_PREFIX": settings.topic_prefix,
        "REALTIME_MKT_DATA_DIR": str(settings.data_dir),
        "REALTIME_MKT_WEB_PORT": str(settings.web_port),
        "REALTIME_MKT_WEB": "1" if settings.web_enabled else "0",
        "REALTIME_MKT_TICK_SECONDS": str(settings.tick_seconds),
        "REALTIME_MKT_TICK_RATE": str(settings.tick_rate),
        "REALTIME_MKT_BULK_RESTORE_MIN_RECORDS": str(settings.bulk_restore_min_records),
        "REALTIME_MKT_STANDBY_REPLICAS": str(settings.standby_replicas),
        "REALTIME_MKT_START_WAIT": str(settings.start_wait_seconds),
    }


def free_port() -> int:
    """A TCP port nothing listens on now: for a worker's web server next to others (tests,
    benchmarks) without collisions."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_worker(settings: Settings, log_path: Path) -> subprocess.Popen:
    """Start `realtime-mkt worker` in the background, logging to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "realtime_mkt", "worker"],
        env=settings_env(settings),
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen, timeout: float = 30.0) -> int:
    """Stop the worker cleanly (SIGTERM, then SIGKILL after `timeout`)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
