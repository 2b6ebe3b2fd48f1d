"""What choosing a promotion's audience costs the event loop, against scoring user by user.

Trains the preference model on `--users` users (the model ranks its 10,000 most recently active
ones), then picks the audience of `--skus` SKUs twice: with `PreferenceModel.audience` (one
matrix product over the users' factors) and, as the baseline, sorting the users by
`predict_one`, as the worker did until stop 14. Prints each one's time per promotion decision,
their ratio, and checks that both chose the same users.

    .ci/venv python benchmarks/audience.py --users 100000 --skus 200
"""

from __future__ import annotations

import argparse
import time

from checkpoint_stall import trained_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=200)
    parser.add_argument("--size", type=int, default=100, help="audience size")
    args = parser.parse_args()
    model = trained_models(args.users, args.skus).preference
    skus = [f"sku-{i}" for i in range(args.skus)]

    def one_by_one(sku: str) -> list[str]:
        grade = {u: model.predict_one({"user": u, "item": sku}) for u in model.users}
        return sorted(model.users, key=lambda u: (-grade[u], u))[: args.size]

    def vectorised(sku: str) -> list[str]:
        return model.audience(sku, args.size)

    timings = {}
    chosen = {}
    for name, pick in (("predict_one per user", one_by_one), ("audience()", vectorised)):
        started = time.perf_counter()
        chosen[name] = [pick(sku) for sku in skus]
        timings[name] = (time.perf_counter() - started) / len(skus)
    base, ours = timings.values()
    same = sum(a == b for a, b in zip(*chosen.values(), strict=True))
    print(f"{len(model.users):,} candidate users, audience of {args.size}, {len(skus)} SKUs")
    for name, seconds in timings.items():
        print(f"{name:<22} {seconds * 1000:7.2f} ms per promotion decision")
    print(f"audience() is {base / ours:.1f}x faster; same users chosen for {same} of {len(skus)}")


if __name__ == "__main__":
    main()
