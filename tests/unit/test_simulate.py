import json
import subprocess
import sys

from realtime_mkt.events import decode
from realtime_mkt.producer import LineError, read_file


def test_simulated_events_are_valid_input_for_produce(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "realtime_mkt", "simulate", "--days", "3", "--skus", "3", "--scenario", "seasonal"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text(out.stdout)
    records = list(read_file(path))
    assert records and not [r for r in records if isinstance(r, LineError)]
    topics = {r.topic for r in records}
    assert (
        {"catalog", "inventory", "clicks", "orders"}
        <= topics
        <= {"catalog", "inventory", "clicks", "orders", "price-changes"}
    )
    for record in records:  # every simulated event passes the worker's validation
        decode(record.topic, record.key.encode(), json.dumps(record.value).encode())
