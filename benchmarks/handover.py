"""Orders counted at their SKUs when partitions change hands during a backlog.

Each round opens 12 SKUs with 10 × `--per-sku` units, sends `--per-sku` one-unit orders for
each, and changes the worker group two seconds into sending them, while the workers work
through them and more keep coming:

- join: a second worker joins;
- kill: one of two workers is killed (SIGKILL) and the other takes its partitions;
- restart: the only worker is killed and started again on its disk.

Then it waits until the group has committed every order and order line, and reads each SKU's
stock from the `/sku` view: an order applied twice shows as a unit short, a lost one as a unit
over. A round whose commits stop moving for `--timeout` seconds is reported as stalled. Each
round reports the orders not yet committed when the group changed: a round without a backlog
then proves nothing.

    .ci/venv python benchmarks/handover.py --rounds 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from harness import RUN, fresh_settings, run_topics_deleted, send_events

from realtime_mkt.catalogue import topic
from realtime_mkt.demo import ensure_broker
from realtime_mkt.events import format_time
from realtime_mkt.ops.lag import group_lag, wait_for_members, wait_until_consumed
from realtime_mkt.ops.topic_admin import create_topics
from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import free_port, start_worker, stop_worker

SKUS = [f"sku-{i}" for i in range(12)]
T0 = 1_772_409_600.0  # 2026-03-02 00:00 UTC


def at(second: int) -> str:
    """The RFC 3339 time `second` seconds after T0."""
    return format_time(T0 + second)


def opening(per_sku: int) -> list[tuple[str, bytes, dict]]:
    """Each SKU's catalog record and its opening stock of 10 × `per_sku` units."""
    records = []
    for sku in SKUS:
        catalog = {"sku_id": sku, "category": "toys", "unit_cost": 10.0, "list_price": 20.0,
                   "min_price": 11.0, "max_price": 30.0, "lead_time_days": 2, "review_days": 1,
                   "service_level": 0.95, "order_multiple": 1}  # fmt: skip
        stock = {"event_id": f"open-{sku}", "occurred_at": at(0), "sku_id": sku,
                 "kind": "snapshot", "quantity": 10 * per_sku}  # fmt: skip
        records += [("catalog", sku.encode(), catalog), ("inventory", sku.encode(), stock)]
    return records


def orders(per_sku: int) -> list[tuple[str, bytes, dict]]:
    """`per_sku` one-unit orders for each SKU, round robin."""
    records = []
    for i in range(len(SKUS) * per_sku):
        value = {"event_id": f"b-{i}", "occurred_at": at(60 + i), "order_id": f"o-{i}",
                 "user_id": "u1", "status": "placed",
                 "lines": [{"sku_id": SKUS[i % len(SKUS)], "quantity": 1, "unit_price": 20.0}]}  # fmt: skip
        records.append(("orders", value["order_id"].encode(), value))
    return records


def send(settings: Settings, records: list[tuple[str, bytes, dict]]) -> None:
    send_events(settings, [(n, k, json.dumps(v).encode()) for n, k, v in records])


def on_hand(port: int, sku: str, timeout: float) -> int:
    """The SKU's stock, asked again while the worker does not answer or answers 503 (its web
    server not up yet, or a rebalance under way), for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sku/{sku}", timeout=10) as answer:
                return json.loads(answer.read())["on_hand"]
        except urllib.error.URLError as exc:
            if getattr(exc, "code", 503) != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def orders_left(settings: Settings) -> int:
    """Orders the group has not committed yet."""
    name = topic("orders").full_name(settings)
    return sum(
        row.lag
        for row in group_lag(settings.bootstrap_servers, settings.app_id)
        if row.topic == name
    )


def one_round(base: Settings, root: Path, change: str, per_sku: int, timeout: float) -> str:
    """Run one round of `change`; what the SKUs' stock showed."""
    settings = dataclasses.replace(
        fresh_settings(base, root), web_enabled=True, web_port=free_port()
    )
    second = dataclasses.replace(
        settings, web_port=free_port(), data_dir=settings.data_dir.parent / f"{RUN}-second"
    )
    create_topics(settings)
    workers = [start_worker(settings, root / "first.log")]
    alive: Callable[[], bool] = lambda: workers[0].poll() is None  # noqa: E731
    try:
        send(settings, opening(per_sku))
        wait_until_consumed(settings, ["catalog", "inventory"], 120, alive)
        if change == "kill":
            workers.append(start_worker(second, root / "second.log"))
            wait_for_members(settings, 2, 120, alive)
        # sent while the group changes: a worker that keeps up with the sender would otherwise
        # have no backlog left by the time the change comes
        sender = threading.Thread(target=send, args=(settings, orders(per_sku)))
        sender.start()
        time.sleep(2)  # the workers are into the orders
        backlog = orders_left(settings)
        if change == "join":
            workers.append(start_worker(second, root / "second.log"))
        elif change == "kill":
            workers[1].kill()
            workers[1].wait()
        else:
            workers[0].kill()
            workers[0].wait()
            workers[0] = start_worker(settings, root / "first.log")
        sender.join()
        try:
            wait_until_consumed(settings, ["orders", "order-lines"], timeout, alive)
        except TimeoutError as exc:
            return f"stalled: {str(exc).partition(': ')[2]}"
        off = {sku: on_hand(settings.web_port, sku, timeout) - 9 * per_sku for sku in SKUS}
        wrong = {sku: n for sku, n in off.items() if n}
        counted = f"off at {len(wrong)} SKUs: {wrong}" if wrong else "every order counted once"
        return f"{counted} ({backlog:,} orders left at the change)"
    finally:
        for worker in workers:
            stop_worker(worker)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-sku", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--changes", nargs="+", default=["join", "kill", "restart"])
    args = parser.parse_args()
    base = Settings.from_env()
    ensure_broker(base)
    print(f"12 SKUs, {args.per_sku:,} one-unit orders each; a unit short: applied twice")
    with run_topics_deleted(base.bootstrap_servers):
        for change in args.changes:
            for n in range(args.rounds):
                root = Path(tempfile.mkdtemp(prefix="handover-"))
                try:
                    outcome = one_round(base, root, change, args.per_sku, args.timeout)
                finally:
                    shutil.rmtree(root, ignore_errors=True)
                print(f"{change:8} round {n + 1}: {outcome}", flush=True)


if __name__ == "__main__":
    main()
