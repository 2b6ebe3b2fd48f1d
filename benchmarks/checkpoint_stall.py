"""How long a model checkpoint holds the worker's event loop: pickled in the loop, or forked.

Builds the worker's two shared models (CTR and preference) over `--users` users, then checkpoints
them twice while a task ticks every millisecond on the event loop: once with `checkpoint.save`
called in the loop (as the worker did until stop 13), once with `checkpoint.save_in_background`
(the worker now). Prints the longest pause between ticks and the checkpoint's wall time for each,
how long a restarted worker takes to read the checkpoint back, and how much memory was copied
for the forked child (its private pages, sampled from /proc every 50 ms).

    .ci/venv python benchmarks/checkpoint_stall.py --users 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from realtime_mkt.models.ctr import CtrModel
from realtime_mkt.models.preference import PreferenceModel
from realtime_mkt.streaming import checkpoint
from realtime_mkt.user_engine import UserEngine


def trained_models(users: int, skus: int) -> UserEngine:
    """CTR and preference models that have learned one click and one purchase per user."""
    engine = UserEngine(CtrModel(), PreferenceModel())
    for i in tqdm(range(users), desc="models", unit="user", mininterval=2):
        user, sku = f"user-{i:07d}", f"sku-{(i * 7919) % skus}"
        engine.learn_purchase(user, sku)
        engine.ctr.learn_one(
            {f"user={user}": 1.0, f"item={sku}": 1.0, "placement=ad": 1.0}, float(i % 50 == 0)
        )
    return engine


async def longest_pause(write: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """The longest gap between 1 ms ticks of the event loop while `write` runs, and its time."""
    done = False
    longest = 0.0

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    await write()
    elapsed = time.perf_counter() - started
    done = True
    await ticker
    return longest, elapsed


async def measure(engine: UserEngine, folder: Path) -> None:
    models = {folder / f"{m.name}.pkl": m for m in (engine.ctr, engine.preference)}

    async def in_the_loop() -> None:
        for path, model in models.items():
            checkpoint.save(path, model)

    copied = CopiedPages()

    async def forked() -> None:
        with copied.sampling():
            error = await checkpoint.save_in_background(models)
        assert error is None, error

    for label, write in (("pickled in the event loop", in_the_loop), ("forked", forked)):
        pause, elapsed = await longest_pause(write)
        size = sum(path.stat().st_size for path in models)
        print(f"{label:<28} longest pause {pause * 1000:8.1f} ms   checkpoint {elapsed:6.2f} s")
    started = time.perf_counter()
    for path, model in models.items():
        checkpoint.load(path, type(model)())
    print(f"a restarted worker reads them back in {time.perf_counter() - started:.2f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"checkpoint files {size / 2**20:,.1f} MiB; this process's peak RSS {rss:,.0f} MiB; "
        f"the forked child's own pages (copied for it) peaked at {copied.peak_mib:,.0f} MiB"
    )


class CopiedPages:
    """The most private memory any child of this process held while sampled: for a forked
    child, the pages copied for it (its other pages are still the parent's)."""

    def __init__(self) -> None:
        self.peak_mib = 0.0

    @contextmanager
    def sampling(self) -> Iterator[None]:
        stop = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(stop,))
        sampler.start()
        try:
            yield
        finally:
            stop.set()
            sampler.join()

    def _sample(self, stop: threading.Event) -> None:
        while not stop.wait(0.05):
            for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
                for pid in children.read_text().split():
                    try:
                        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
                    except OSError:  # it has just ended
                        continue
                    kib = sum(
                        int(line.split()[1]) for line in rollup if line.startswith("Private_")
                    )
                    self.peak_mib = max(self.peak_mib, kib / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=100_000)
    args = parser.parse_args()
    engine = trained_models(args.users, args.skus)
    with tempfile.TemporaryDirectory(prefix="bench-checkpoint-") as folder:
        asyncio.run(measure(engine, Path(folder)))


if __name__ == "__main__":
    main()
