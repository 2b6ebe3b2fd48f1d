"""The topic catalogue in `streams/topics.toml`: the only source of topic names and settings."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from realtime_mkt.settings import PROJECT_ROOT, Settings

CATALOGUE_PATH = PROJECT_ROOT / "streams" / "topics.toml"
# the SKU agent's inputs, which must be co-partitioned with the SKU table's changelog: orders
# too, whose lines it applies in place when their SKU's partition is its own (all of them with
# one worker) and sends through `order-lines` otherwise
SKU_INPUTS = (
    "order-lines",
    "price-changes",
    "inventory",
    "catalog",
    "sku-ticks",
    "sku-signals",
    "orders",
)


@dataclass(frozen=True)
class TopicSpec:
    """One topic as declared in the catalogue (logical name, before any prefix)."""

    name: str
    role: str
    key: str
    partitions: int
    replication_factor: int
    schema: str | None = None
    config: dict[str, str] = field(default_factory=dict)

    def full_name(self, settings: Settings) -> str:
        """The name on the broker; the worker's own topics are named `<app id>-<name>` by Faust."""
        if self.role in ("changelog", "coordination"):
            return f"{settings.app_id}-{self.name}"
        return f"{settings.topic_prefix}{self.name}"


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, TopicSpec]:
    """Read every topic from the catalogue, with defaults applied."""
    raw = tomllib.loads(path.read_text())
    defaults = raw.get("defaults", {})
    specs = {}
    for name, spec in raw["topics"].items():
        specs[name] = TopicSpec(
            name=name,
            role=spec["role"],
            key=spec["key"],
            partitions=int(spec.get("partitions", defaults.get("partitions", 1))),
            replication_factor=int(
                spec.get("replication_factor", defaults.get("replication_factor", 1))
            ),
            schema=spec.get("schema"),
            config={k: str(v) for k, v in spec.get("config", {}).items()},
        )
    return specs


def topic(name: str) -> TopicSpec:
    """The catalogue entry for a logical topic name."""
    return load_catalogue()[name]
