from realtime_mkt.models.ctr import CtrModel, ctr_features
from realtime_mkt.streaming import checkpoint


def test_a_checkpointed_model_resumes_where_it_stopped(tmp_path):
    model = CtrModel()
    x = ctr_features({"user_id": "u", "sku_id": "s", "placement": "ad", "position": 1, "ts": 0})
    for _ in range(50):
        model.learn_one(x, 1.0)
    checkpoint.save(tmp_path / "models" / "ctr.pkl", model)
    restored = checkpoint.load(tmp_path / "models" / "ctr.pkl", CtrModel())
    assert restored.predict_one(x) == model.predict_one(x) > 0.5
    assert restored.health() == model.health()


def test_missing_or_corrupt_checkpoints_start_fresh(tmp_path):
    fresh = CtrModel()
    assert checkpoint.load(tmp_path / "none.pkl", fresh) is fresh
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    assert checkpoint.load(tmp_path / "bad.pkl", fresh) is fresh
