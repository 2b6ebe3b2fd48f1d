"""Runtime settings, read once from the environment."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

PROJECT_ROOT = Path(os.environ.get("REALTIME_MKT_ROOT", Path(__file__).resolve().parents[2]))
APP_NAME = "realtime-mkt"


@dataclass(frozen=True)
class Settings:
    """Where the broker is, how topics are named, where local state lives."""

    bootstrap_servers: str
    topic_prefix: str
    data_dir: Path
    web_port: int
    web_enabled: bool
    tick_seconds: float = 60.0  # how often the worker checks whether the event-time day moved
    tick_rate: float = 1000.0  # SKUs a second the daily re-evaluation ticks at most (0: no limit)
    # a table partition this far behind restores in bulk; below it Faust's own recovery is as
    # quick (no reader process to start)
    bulk_restore_min_records: int = 10_000
    # warm copies each worker keeps of the tables of partitions it does not process: a failover
    # without one restores the partitions from the changelog; each costs the group a write of
    # every state to a second worker (README *Scaling out*)
    standby_replicas: int = 1
    # how long a starting worker waits for its broker and topics before it exits with an error
    start_wait_seconds: float = 300.0

    @property
    def app_id(self) -> str:
        """Faust application id: also the consumer group and the changelog topic prefix."""
        return f"{self.topic_prefix}{APP_NAME}"

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from `KAFKA_BOOTSTRAP_SERVERS` and the `REALTIME_MKT_*` variables.

        Raises `SettingError`, naming the variable, for a number that is not one or is out of
        its range."""
        env = os.environ
        return cls(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            topic_prefix=env.get("REALTIME_MKT_TOPIC_PREFIX", ""),
            data_dir=Path(env.get("REALTIME_MKT_DATA_DIR", ".realtime-mkt/data")),
            web_port=_number("REALTIME_MKT_WEB_PORT", 6066, int, 1, 65535),
            web_enabled=env.get("REALTIME_MKT_WEB", "1") != "0",
            tick_seconds=_number("REALTIME_MKT_TICK_SECONDS", cls.tick_seconds, float, 0.001),
            tick_rate=_number("REALTIME_MKT_TICK_RATE", cls.tick_rate, float, 0),
            bulk_restore_min_records=_number(
                "REALTIME_MKT_BULK_RESTORE_MIN_RECORDS", cls.bulk_restore_min_records, int, 0
            ),
            standby_replicas=_number("REALTIME_MKT_STANDBY_REPLICAS", cls.standby_replicas, int, 0),
            start_wait_seconds=_number("REALTIME_MKT_START_WAIT", cls.start_wait_seconds, float, 0),
        )


N = TypeVar("N", int, float)


class SettingError(ValueError):
    """An environment variable's value the settings cannot take."""


def _number(name: str, default: N, kind: type[N], low: float, high: float = math.inf) -> N:
    """The number environment variable `name` holds (`default` if unset), within [low, high]."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise SettingError(
            f"{name}={text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if not low <= value <= high:
        bound = f"at least {low:g}" if high == math.inf else f"from {low:g} to {high:g}"
        raise SettingError(f"{name}={text!r} is out of range: it must be {bound}")
    return value
