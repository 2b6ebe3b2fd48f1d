"""`realtime-mkt simulate`: a simulated market streamed into the real topics, or to stdout.

With Kafka the loop is closed: decisions read back from the output topics act on the market
(price adjustments change prices and are announced as `list` price changes, promotions run,
restock requests arrive as receipts after the lead time), exactly as the backtest does in-process.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from tqdm import tqdm

from realtime_mkt.catalogue import load_catalogue, topic
from realtime_mkt.decisions import DECISION_TOPICS
from realtime_mkt.settings import Settings
from realtime_mkt.sim.market import SCENARIOS, Market


class LiveMarket:
    """A `Market` wired to Kafka: sends its events, reads decisions and dead letters back."""

    def __init__(self, settings: Settings, market: Market) -> None:
        self.settings = settings
        self.market = market
        self.keys = {name: spec.key for name, spec in load_catalogue().items()}
        self.sent: Counter[str] = Counter()
        self.decisions: dict[str, list[dict[str, Any]]] = {name: [] for name in DECISION_TOPICS}
        self.dead_letters: list[dict[str, Any]] = []
        self.producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=10)
        self.outputs = KafkaConsumer(
            *(topic(name).full_name(settings) for name in (*DECISION_TOPICS, "dead-letter")),
            bootstrap_servers=settings.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.today = 0

    def send(self, name: str, value: dict[str, Any]) -> None:
        """Publish one event to its topic, keyed by the topic's key field."""
        key = value[self.keys[name]].encode()
        self.producer.send(
            topic(name).full_name(self.settings), key=key, value=json.dumps(value).encode()
        )
        self.sent[name] += 1

    def send_raw(self, name: str, key: bytes | None, raw: bytes) -> None:
        """Publish bytes as they are (for malformed examples)."""
        self.producer.send(topic(name).full_name(self.settings), key=key, value=raw)
        self.sent[f"{name} (malformed)"] += 1

    def collect(self) -> None:
        """Read decisions and dead letters that arrived; act on the decisions."""
        for records in self.outputs.poll(timeout_ms=50).values():
            for record in records:
                value = json.loads(record.value)
                name = record.topic.removeprefix(self.settings.topic_prefix)
                if name == "dead-letter":
                    self.dead_letters.append(value)
                    continue
                self.decisions[name].append(value)
                for follow_name, follow_value in self.market.apply(name, value, self.today):
                    self.send(follow_name, follow_value)

    def run(
        self, days: int, seconds_per_day: float, alive: Callable[[], bool] = lambda: True
    ) -> None:
        """Stream `days` simulated days, each over at least `seconds_per_day` of wall time."""
        for day in tqdm(
            range(days), desc=f"simulated days ({self.market.scenario.name})", unit="day"
        ):
            self.today = day
            started = time.monotonic()
            for name, value in [*self.market.catalog_events(day), *self.market.day_events(day)]:
                self.send(name, value)
            self.producer.flush()
            while time.monotonic() - started < seconds_per_day:
                self.collect()
            if not alive():
                raise SystemExit("the worker stopped; see its log")

    def close(self) -> None:
        """Flush and close the clients."""
        self.producer.flush()
        self.producer.close()
        self.outputs.close()


def print_events(scenario: str, days: int, skus: int, seed: int) -> None:
    """Write the market's events (without feedback: static prices) as JSONL envelopes to stdout."""
    market = Market(SCENARIOS[scenario], seed=seed, n_skus=skus)
    for day in range(days):
        for name, value in [*market.catalog_events(day), *market.day_events(day)]:
            sys.stdout.write(json.dumps({"topic": name, "value": value}) + "\n")
