"""Resident memory of the worker's state at scale: 1,000,000 SKUs and 1,000,000 users.

Builds, in one process, what a worker holding that many keys holds: per-SKU and per-user state
in RocksDB stores opened exactly as the worker's tables open them (Faust's `RocksDBOptions`
with `TABLE_OPTIONS`, four partitions each, JSON values as the tables write them), and the
shared in-memory models (CTR and preference) having learned from every user. Each SKU's value
is a real state: the engine's state of a simulated SKU after 60 days of orders, re-keyed. Prints
RSS after each stage; the brief's target is 2 GiB.

    .ci/venv python benchmarks/state_memory.py --skus 1000000 --users 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from checkpoint_stall import trained_models
from faust.stores.rocksdb import RocksDBOptions
from tqdm import tqdm

from realtime_mkt.catalogue import load_catalogue
from realtime_mkt.decision_log import log_key
from realtime_mkt.engine import SkuEngine, order_lines
from realtime_mkt.events import decode
from realtime_mkt.sim.market import SCENARIOS, Market
from realtime_mkt.sku_state import RECENT_IDS, event_fingerprint
from realtime_mkt.streaming.app import TABLE_OPTIONS

PARTITIONS = 4


def rss_mib() -> float:
    """Current resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def mature_sku() -> tuple[dict, list]:
    """The largest engine state among ten simulated SKUs after 60 days of their orders, and the
    largest decision log among them (the worker keeps both in its SKU table)."""
    market = Market(SCENARIOS["steady"], seed=3, n_skus=10, n_users=500)
    keys = {name: spec.key for name, spec in load_catalogue().items()}
    engine = SkuEngine()
    states: dict = {}

    def apply(topic: str, value: dict) -> None:
        event = decode(topic, value[keys[topic]].encode(), json.dumps(value).encode())
        states[value["sku_id"]] = engine.apply(states.get(value["sku_id"]), event).state

    for name, value in market.catalog_events(0):
        apply(name, value)
    for day in range(60):
        for name, value in market.day_events(day):
            if name == "orders":
                for line in order_lines(value):
                    apply("order-lines", line)
            elif name in ("price-changes", "inventory"):
                apply(name, value)

    def size(value: object) -> int:
        return len(json.dumps(value))

    logs = [engine.decisions.store.get(log_key(sku), []) for sku in states]
    return max((s.to_dict() for s in states.values()), key=size), max(logs, key=size)


def sku_records(sku_id: str, state: dict, decided: list) -> list[tuple[object, object]]:
    """The worker's SKU-table entries of one SKU, in the order it writes them: its decision log,
    then its state (both re-keyed copies of `mature_sku`'s)."""
    return [(log_key(sku_id), decided), (sku_id, {**state, "sku": sku_id})]


def fill_store(root: Path, table: str, n: int, records_for) -> int:
    """Write the (key, value) records of `n` keys into `PARTITIONS` RocksDB stores like the
    worker's table; bytes written."""
    options = RocksDBOptions(**TABLE_OPTIONS)
    dbs = [options.open(root / f"{table}-{p}.db") for p in range(PARTITIONS)]
    written = 0
    for i in tqdm(range(n), desc=table, unit="key", mininterval=2):
        for key, value in records_for(i):
            encoded = json.dumps(key).encode()
            payload = json.dumps(value, separators=(",", ":")).encode()
            dbs[i % PARTITIONS][encoded] = payload
            written += len(encoded) + len(payload)
    for i in range(0, n, max(n // 50_000, 1)):  # read a sample back, as lookups would
        for key, _ in records_for(i):
            _ = dbs[i % PARTITIONS][json.dumps(key).encode()]
    for db in dbs:
        db.flush()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    rows = [("start (engine, models and Faust imported)", rss_mib())]
    try:
        state, decided = mature_sku()
        sku_bytes = fill_store(
            root,
            "sku-state",
            args.skus,
            lambda i: sku_records(f"sku-{i:07d}", state, decided),
        )
        rows.append(
            (
                f"{args.skus:,} SKU states and decision logs in RocksDB ({sku_bytes / 2**20:,.0f} MiB)",
                rss_mib(),
            )
        )
        user_value = {
            "ids": "".join(event_fingerprint(f"click-{i}") for i in range(RECENT_IDS)),
            "pend": [],
        }
        user_bytes = fill_store(
            root, "user-state", args.users, lambda i: [(f"user-{i:07d}", user_value)]
        )
        rows.append(
            (f"{args.users:,} user states in RocksDB ({user_bytes / 2**20:,.0f} MiB)", rss_mib())
        )
        started = time.perf_counter()
        models = trained_models(args.users, args.skus)
        rows.append(
            (
                f"CTR and preference models over {args.users:,} users ({time.perf_counter() - started:.0f} s)",
                rss_mib(),
            )
        )
        del models  # held until its RSS was read
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for label, rss in rows:
        print(f"{label:<72} RSS {rss:>7,.0f} MiB")


if __name__ == "__main__":
    main()
