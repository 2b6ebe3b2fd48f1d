import os
import subprocess
import sys
from pathlib import Path

import pytest

from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import settings_env


def test_a_worker_process_sees_the_settings_it_was_started_with(monkeypatch):
    settings = Settings(
        "broker:9093",
        "p.",
        Path("/tmp/state"),
        web_port=7000,
        web_enabled=False,
        tick_seconds=2.5,
        tick_rate=250.0,
        bulk_restore_min_records=500,
        standby_replicas=0,
        start_wait_seconds=12.0,
    )
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == settings


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("REALTIME_MKT_TICK_SECONDS", "abc", "REALTIME_MKT_TICK_SECONDS='abc' is not a number"),
        ("REALTIME_MKT_STANDBY_REPLICAS", "1.5", "REALTIME_MKT_STANDBY_REPLICAS='1.5' is not an integer"),
        ("REALTIME_MKT_WEB_PORT", "70000", "REALTIME_MKT_WEB_PORT='70000' is out of range: it must be from 1 to 65535"),
        ("REALTIME_MKT_TICK_RATE", "-1", "REALTIME_MKT_TICK_RATE='-1' is out of range: it must be at least 0"),
        ("REALTIME_MKT_START_WAIT", "nan", "REALTIME_MKT_START_WAIT='nan' is out of range"),
    ],
)  # fmt: skip
def test_a_setting_it_cannot_take_is_refused_with_the_variable_named(name, text, message):
    done = subprocess.run(
        [sys.executable, "-m", "realtime_mkt", "lag"],
        env={**os.environ, name: text},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {message}"), done.stderr
    assert "Traceback" not in done.stderr
