"""Preference: MovieLens-100K replayed in time order against river's published figures."""

from __future__ import annotations

from realtime_mkt.models.preference import GRADES, PreferenceModel
from realtime_mkt.replays import RIVER_BASELINE_MAE, RIVER_BIASED_MF_MAE, movielens_preference
from tests.helpers import shared_data


def test_movielens_progressive_mae_matches_river_benchmark():
    health = movielens_preference(shared_data())
    assert health["n"] == 100_000
    assert health["mae"] < RIVER_BASELINE_MAE
    assert health["mae"] <= RIVER_BIASED_MF_MAE + 0.002
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
