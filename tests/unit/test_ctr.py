"""CTR: converges on a synthetic stream with known click probabilities, and on real impressions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from river import linear_model

from realtime_mkt.models import ctr
from realtime_mkt.models.base import BinaryScore
from realtime_mkt.models.ctr import CtrModel, ctr_features, impression
from realtime_mkt.replays import obd_ctr
from tests.helpers import shared_data

PLACEMENT_EFFECT = {"ad": 0.3, "search": 0.0, "browse": -0.4, "recommendation": 0.5}


def synthetic(n: int, seed: int = 0):
    for event, y in impressions(n, seed):
        yield ctr_features(event), y


def impressions(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    item_logit = rng.normal(-3.5, 0.8, 200)
    placements = list(PLACEMENT_EFFECT)
    for i in range(n):
        item, position, placement = (
            int(rng.integers(200)),
            int(rng.integers(1, 11)),
            placements[i % 4],
        )
        z = item_logit[item] - 0.15 * position + PLACEMENT_EFFECT[placement]
        event = {"user_id": f"u{rng.integers(5000)}", "sku_id": f"s{item}", "placement": placement,
                 "position": position, "ts": 1.79e9 + 10 * i}  # fmt: skip
        yield event, float(rng.random() < 1 / (1 + np.exp(-z)))


def test_ftrl_beats_plain_logistic_regression_and_is_calibrated():
    model, plain, plain_score = CtrModel(), linear_model.LogisticRegression(), BinaryScore()
    late = BinaryScore()
    for i, (x, y) in enumerate(synthetic(80_000)):
        if i >= 40_000:
            late.update(model.predict_one(x), y)
        model.learn_one(x, y)
        plain_score.update(plain.predict_proba_one(x).get(True, 0.0), y)
        plain.learn_one(x, bool(y))
    ours = model.health()
    assert ours["log_loss"] < plain_score.metrics()["log_loss"]
    assert ours["normalised_entropy"] < 1.0  # better than always predicting the base rate
    assert 0.95 <= late.metrics()["calibration"] <= 1.05


def test_learning_a_share_of_the_negatives_weighted_keeps_loss_and_calibration(monkeypatch):
    def run(rate: float) -> tuple[CtrModel, BinaryScore]:
        monkeypatch.setattr(ctr, "NEGATIVE_RATE", rate)
        model, late = CtrModel(), BinaryScore()
        for i, (event, y) in enumerate(impressions(80_000)):
            if i >= 40_000:
                late.update(model.predict_one(ctr_features(event)), y)
            (model.learn_clicked if y else model.learn_unclicked)(event)
        return model, late

    rate = ctr.NEGATIVE_RATE
    everything, everything_late = run(1.0)
    sampled, sampled_late = run(rate)
    negatives = everything.score.n - everything.score.positives
    # a share of the negatives learned, each standing for 1 / share: the weighted count is the
    # stream's
    assert rate < 0.5 and sampled.score.positives == everything.score.positives
    learned = (sampled.score.n - sampled.score.positives) * rate
    assert 0.8 * rate < learned / negatives < 1.2 * rate
    assert abs(sampled.score.n / everything.score.n - 1) < 0.05
    assert 0.95 <= sampled_late.metrics()["calibration"] <= 1.05
    assert sampled_late.metrics()["log_loss"] < 1.005 * everything_late.metrics()["log_loss"]
    assert sampled.health()["normalised_entropy"] < 1.0


def test_the_negatives_learned_are_the_same_in_every_replay():
    def scores() -> BinaryScore:
        model = CtrModel()
        for event, y in impressions(5_000, seed=3):
            (model.learn_clicked if y else model.learn_unclicked)(event)
        return model.score

    assert scores() == scores()


def test_real_impressions_from_open_bandit_dataset():
    result = obd_ctr(shared_data())
    assert result["n"] == 10_000 and 0.001 < result["base_rate"] < 0.02
    assert result["log_loss"] < result["log_loss_baseline"]


def test_an_impression_kept_for_its_click_gives_the_features_of_the_whole_event():
    full = {"event_id": "imp-000005849", "occurred_at": "2026-01-05T00:00:02.299Z",
            "user_id": "u02630", "sku_id": "sku-0045", "action": "impression", "placement": "ad",
            "position": 8, "price_shown": 19.5, "device": "ios", "campaign_id": "c-1",
            "session_id": "s-77"}  # fmt: skip
    bare = {k: full[k] for k in ("event_id", "occurred_at", "user_id", "sku_id", "placement")}
    for value in (full, bare):
        kept = impression(value, 1.7673e9)
        assert ctr_features(kept) == ctr_features({**value, "ts": 1.7673e9})
        assert "event_id" not in kept and "session_id" not in kept


def test_calibration_and_normalised_entropy_wait_for_both_outcomes():
    score = BinaryScore()
    for _ in range(50):
        score.update(0.02, 0.0)  # a new worker's first impressions: none clicked yet
    early = score.metrics()
    assert "calibration" not in early and "normalised_entropy" not in early
    json.dumps(early, allow_nan=False)  # `/health` stays valid JSON
    score.update(0.02, 1.0)
    assert score.metrics()["calibration"] == pytest.approx(51 * 0.02)
    assert 0 < score.metrics()["normalised_entropy"] < 2
