from pathlib import Path

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
    )
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == settings
