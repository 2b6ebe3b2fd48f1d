import asyncio
import os
import time
from pathlib import Path

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


def trained_ctr(n: int) -> tuple[CtrModel, dict]:
    model = CtrModel()
    x = ctr_features({"user_id": "u", "sku_id": "s", "placement": "ad", "position": 1, "ts": 0})
    for _ in range(n):
        model.learn_one(x, 1.0)
    return model, x


def test_a_background_checkpoint_holds_the_models_as_they_were_when_it_began(tmp_path):
    model, x = trained_ctr(20)
    at_start = model.predict_one(x)
    path = tmp_path / "models" / "ctr.pkl"

    async def run() -> str | None:
        saving = asyncio.create_task(checkpoint.save_in_background({path: model}))
        await asyncio.sleep(0)  # the checkpoint has forked and waits for its child
        for _ in range(50):  # the worker keeps learning meanwhile
            model.learn_one(x, 1.0)
        return await saving

    assert asyncio.run(run()) is None
    restored = checkpoint.load(path, CtrModel())
    assert restored.predict_one(x) == at_start < model.predict_one(x)


class NeedsTheLoop:
    """Pickles only once `flag` exists, which the event loop creates after the checkpoint began:
    a checkpoint that held the event loop while pickling would never see it."""

    def __init__(self, flag: Path) -> None:
        self.flag = flag

    def __reduce__(self):
        deadline = time.monotonic() + 30
        while not self.flag.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the event loop did not run while the checkpoint was pickled")
            time.sleep(0.01)
        return (str, ("pickled",))


def test_the_event_loop_runs_while_a_checkpoint_is_pickled(tmp_path):
    flag = tmp_path / "loop-ran"

    async def run() -> str | None:
        saving = asyncio.create_task(
            checkpoint.save_in_background({tmp_path / "slow.pkl": NeedsTheLoop(flag)})
        )
        await asyncio.sleep(0)
        flag.touch()  # what the worker's other tasks would do meanwhile
        return await saving

    assert asyncio.run(run()) is None
    assert checkpoint.load(tmp_path / "slow.pkl", None) == "pickled"


def test_a_failed_background_checkpoint_says_why_and_keeps_the_previous_one(tmp_path):
    model, x = trained_ctr(20)
    path = tmp_path / "ctr.pkl"
    checkpoint.save(path, model)
    error = asyncio.run(checkpoint.save_in_background({path: lambda: "not picklable"}))
    assert error is not None and "pickle" in error.lower()
    assert checkpoint.load(path, CtrModel()).predict_one(x) == model.predict_one(x)
    assert [p.name for p in tmp_path.iterdir()] == ["ctr.pkl"]  # no half-written file left


def test_a_hung_checkpoint_process_is_killed_and_leaves_no_partial_file(tmp_path):
    never = tmp_path / "never-created"  # the child waits for it (30 s), far past the timeout
    error = asyncio.run(
        checkpoint.save_in_background({tmp_path / "slow.pkl": NeedsTheLoop(never)}, timeout=1.0)
    )
    assert error == "checkpoint process killed after 1 s"
    assert list(tmp_path.iterdir()) == []


class RecordsItsNiceness:
    """Pickled, writes the niceness of the process pickling it next to the checkpoint."""

    def __init__(self, record: Path) -> None:
        self.record = record

    def __reduce__(self):
        self.record.write_text(str(os.nice(0)))
        return (str, ("pickled",))


def test_the_checkpoint_process_yields_the_cpu_to_the_worker(tmp_path):
    record = tmp_path / "niceness"
    value = RecordsItsNiceness(record)
    assert asyncio.run(checkpoint.save_in_background({tmp_path / "m.pkl": value})) is None
    # the most a process can be niced is 19; the worker itself keeps its priority
    assert int(record.read_text()) == min(os.nice(0) + checkpoint.CHILD_NICENESS, 19)
