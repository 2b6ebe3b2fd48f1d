"""Preference: MovieLens-100K replayed in time order against river's published figures and
river's own BiasedMF on the same stream."""

from __future__ import annotations

import random

import pytest

from realtime_mkt.models.preference import GRADES, PreferenceModel
from realtime_mkt.replays import RIVER_BASELINE_MAE, RIVER_BIASED_MF_MAE, movielens_preference
from tests.helpers import shared_data


def test_movielens_progressive_mae_matches_river_benchmark():
    health = movielens_preference(shared_data())
    assert health["n"] == 100_000
    assert health["mae"] < RIVER_BASELINE_MAE
    assert health["mae"] <= RIVER_BIASED_MF_MAE + 0.002
    # river's own BiasedMF with the benchmark's settings, on the same stream in the same run
    assert health["mae"] <= health["mae_river_same_stream"] + 1e-9
    assert health["rmse"] <= health["rmse_river_same_stream"] + 1e-9
    assert health["mae"] < health["mae_popularity"] and health["rmse"] < health["rmse_popularity"]


def test_top_k_prefers_what_similar_users_engaged_with_and_skips_recent_purchases():
    model = PreferenceModel()
    for _ in range(30):
        for user in ("a", "b", "c"):
            model.learn_one({"user": user, "item": "boots"}, GRADES["add_to_cart"])
            model.learn_one({"user": user, "item": "socks"}, GRADES["view"])
        model.learn_one({"user": "d", "item": "socks"}, GRADES["view"])
        model.learn_one({"user": "e", "item": "socks"}, GRADES["view"])
    assert model.top_k("d", 2)[0] == "boots"
    model.learn_one({"user": "d", "item": "boots"}, GRADES["purchase"])
    assert "boots" not in model.top_k("d", 2)
    assert set(model.audience("boots", 4)) == {"a", "b", "c", "d"}  # not "e", who only saw socks


def test_audience_ranks_users_as_predict_one_does_with_ties_by_user_id():
    model = PreferenceModel()
    rng = random.Random(5)
    items = [f"sku-{i}" for i in range(20)]
    for _ in range(3_000):
        user = f"u{rng.randrange(600):03d}"
        model.learn_one({"user": user, "item": rng.choice(items)}, rng.choice([1.0, 2.0, 4.0]))
    for twin in ("t1", "t2"):  # two users whose factors are equal: a tie for every item
        model.learn_one({"user": twin, "item": "sku-0"}, 4.0)
        model.model.u_latents[twin] = model.model.u_latents["t1"].copy()
        model.model.u_biases[twin] = model.model.u_biases["t1"]
    for item in [*items, "never-seen"]:
        grade = {u: model.predict_one({"user": u, "item": item}) for u in model.users}
        expected = sorted(model.users, key=lambda u: (-grade[u], u))
        assert model.audience(item, 50) == expected[:50]
        assert model.audience(item, 1_000) == expected
        rank = expected.index("t1")
        assert expected[rank + 1] == "t2"
        assert model.audience(item, rank + 1)[-1] == "t1"  # the tie at the cut goes by user id


def test_grade_reads_the_model_without_adding_strangers_to_it():
    model = PreferenceModel()
    for _ in range(30):
        model.learn_one({"user": "u1", "item": "s1"}, 4.0)
        model.learn_one({"user": "u2", "item": "s1"}, 0.0)
    for user in ("u1", "u2"):
        assert model.grade(user, "s1") == pytest.approx(
            model.predict_one({"user": user, "item": "s1"})
        )
    known = (len(model.model.u_latents), len(model.model.i_latents))
    stranger = model.grade("nobody", "s1")
    assert (len(model.model.u_latents), len(model.model.i_latents)) == known
    assert stranger == pytest.approx(model.model.global_mean.get() + model.model.i_biases["s1"])
