"""Every online model through the same contract: pickles before and after learning, predicts the
same after unpickling, is deterministic for a seed, and stays bounded where it keeps per-key state."""

from __future__ import annotations

import pickle
import random

import pytest

from realtime_mkt.models.ctr import CtrModel, ctr_features
from realtime_mkt.models.daily_demand import DailyDemand
from realtime_mkt.models.elasticity import LogLogElasticity
from realtime_mkt.models.preference import PreferenceModel


def ctr_stream(rng):
    for i in range(300):
        event = {"user_id": f"u{rng.randrange(30)}", "sku_id": f"s{rng.randrange(20)}", "placement": "ad",
                 "position": rng.randrange(1, 5), "ts": 1.79e9 + i}  # fmt: skip
        yield "learn", ctr_features(event), float(rng.random() < 0.1)


def preference_stream(rng):
    for _ in range(300):
        yield (
            "learn",
            {"user": f"u{rng.randrange(30)}", "item": f"s{rng.randrange(20)}"},
            float(rng.randrange(1, 5)),
        )


class DemandAdapter:
    """DailyDemand under the contract: x = {'day'}, y = units."""

    def __init__(self) -> None:
        self.model = DailyDemand()

    def learn_one(self, x, y):
        self.model.advance(x["day"], stocked_out=False)
        self.model.add_sale(y, 10.0)

    def predict_one(self, x):
        return self.model.forecast()


class ElasticityAdapter:
    def __init__(self) -> None:
        self.model = LogLogElasticity()

    def learn_one(self, x, y):
        self.model.learn(x["price"], y, x.get("competitor"), x["baseline"])

    def predict_one(self, x):
        return self.model.estimate()


def demand_stream(rng):
    for day in range(300):
        yield "learn", {"day": day}, float(rng.randrange(0, 20))


def elasticity_stream(rng):
    for _ in range(300):
        yield (
            "learn",
            {"price": rng.uniform(9, 11), "competitor": rng.uniform(9, 11), "baseline": 15.0},
            float(rng.randrange(0, 30)),
        )


MODELS = {
    "ctr": (CtrModel, ctr_stream, {"user=u1": 1.0, "item=s1": 1.0}),
    "preference": (PreferenceModel, preference_stream, {"user": "u1", "item": "s1"}),
    "daily_demand": (DemandAdapter, demand_stream, {"day": 0}),
    "elasticity": (ElasticityAdapter, elasticity_stream, {"price": 10.0}),
}


def trained(name: str, seed: int = 0):
    factory, stream, _ = MODELS[name]
    model = factory()
    for _, x, y in stream(random.Random(seed)):
        model.learn_one(x, y)
    return model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_pickles_before_and_after_learning(name):
    factory, _, probe = MODELS[name]
    fresh = pickle.loads(pickle.dumps(factory()))
    assert fresh.predict_one(probe) == factory().predict_one(probe)
    model = trained(name)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.predict_one(probe) == model.predict_one(probe)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_deterministic_for_the_same_stream(name):
    probe = MODELS[name][2]
    assert trained(name, seed=3).predict_one(probe) == trained(name, seed=3).predict_one(probe)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_learning_changes_predictions(name):
    factory, _, probe = MODELS[name]
    assert trained(name).predict_one(probe) != factory().predict_one(probe)


@pytest.mark.parametrize("name", ["daily_demand", "elasticity"])
def test_per_sku_state_is_bounded(name):
    small = len(pickle.dumps(trained(name).model))
    factory, stream, _ = MODELS[name]
    model = factory()
    for _ in range(10):
        for _, x, y in stream(random.Random(1)):
            model.learn_one(x, y)
    assert len(pickle.dumps(model.model)) <= small * 1.1  # constant size, however long it learns


@pytest.mark.parametrize("name", ["ctr", "preference"])
def test_health_reports_progressive_metrics(name):
    health = trained(name).health()
    assert health["n"] == 300
    assert set(health) >= ({"log_loss", "calibration"} if name == "ctr" else {"mae", "rmse"})
