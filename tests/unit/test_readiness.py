"""What a starting worker waits for (a broker, and a data folder of its own), how it says so,
and how it gives up."""

from __future__ import annotations

import dataclasses
import itertools
import os
import subprocess
import sys
import time

from realtime_mkt.ops.readiness import (
    data_dir_held,
    not_ready,
    open_data_dir_lock,
    wait_until_ready,
)
from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import free_port, settings_env


def nowhere(tmp_path, wait: float = 1.0) -> Settings:
    """Settings whose broker address nothing listens on."""
    return Settings(
        bootstrap_servers=f"127.0.0.1:{free_port()}",
        topic_prefix="t.",
        data_dir=tmp_path / "state",
        web_port=free_port(),
        web_enabled=False,
        start_wait_seconds=wait,
    )


def run_worker(settings: Settings) -> subprocess.CompletedProcess:
    """`realtime-mkt worker` on `settings`, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "realtime_mkt", "worker"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_waiting_returns_once_ready_and_reports_the_reason_at_once_and_then_every_so_often():
    answers = iter(["no broker", "no broker", "3 topics missing", None])
    reports = []
    got = wait_until_ready(
        lambda: next(answers),
        30.0,
        lambda s, why: reports.append((s, why)),
        poll=0.01,
        report_every=0.015,
    )
    assert got is None and next(answers, "drained") == "drained"  # checked until ready
    assert reports[0][0] < 0.01 and reports[0][1] == "no broker"
    assert all(b[0] - a[0] >= 0.015 for a, b in itertools.pairwise(reports))


def test_waiting_gives_up_after_its_timeout_with_the_last_reason():
    start = time.monotonic()
    assert wait_until_ready(lambda: "still no broker", 0.1, lambda s, why: None, poll=0.02) == (
        "still no broker"
    )
    assert 0.1 <= time.monotonic() - start < 1.0


def test_without_a_broker_the_reason_names_its_address_and_setting(tmp_path):
    settings = nowhere(tmp_path)
    reason = not_ready(settings)
    assert reason is not None
    assert settings.bootstrap_servers in reason and "KAFKA_BOOTSTRAP_SERVERS" in reason


def test_a_worker_whose_broker_never_answers_exits_with_the_settings_named(tmp_path):
    settings = nowhere(tmp_path, wait=1.0)
    done = run_worker(settings)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("waiting (0 s of REALTIME_MKT_START_WAIT=1): no Kafka broker")
    assert lines[-1] == f"error: {not_ready(settings)}; gave up after 1 s"
    assert "Traceback" not in done.stderr


def test_a_data_folder_is_held_by_one_worker_process_at_a_time(tmp_path):
    settings = nowhere(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from realtime_mkt.ops.readiness import data_dir_held, open_data_dir_lock\n"
            "from tests.unit.test_readiness import nowhere\n"
            "from pathlib import Path\n"
            "lock = open_data_dir_lock(nowhere(Path(sys.argv[1])))\n"  # kept open: held
            "assert data_dir_held(lock, None) is None\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        lock = open_data_dir_lock(settings)
        reason = data_dir_held(lock, settings)
        assert reason == (
            f"another worker (pid {holder.pid}) uses REALTIME_MKT_DATA_DIR={settings.data_dir}: "
            "each worker needs a data folder of its own"
        )
        holder.kill()  # its lock goes with its process
        holder.wait()
        assert data_dir_held(lock, settings) is None
        assert data_dir_held(lock, settings) is None  # taking it again keeps it
        assert (settings.data_dir / "worker.lock").read_text() == f"{os.getpid()}\n"
    finally:
        holder.kill()
        holder.wait()


def test_a_worker_whose_data_folder_cannot_be_made_names_it(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    settings = dataclasses.replace(nowhere(tmp_path), data_dir=tmp_path / "file" / "state")
    done = run_worker(settings)
    assert done.returncode == 2
    assert done.stderr == f"error: REALTIME_MKT_DATA_DIR={settings.data_dir}: Not a directory\n"
