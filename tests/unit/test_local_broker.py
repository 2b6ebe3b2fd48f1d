"""The local broker's housekeeping: what its data holds, wiping it, the log shown on failure,
and stopping a broker this process started; and waiting for a broker that does not answer yet."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time

import pytest

from realtime_mkt.ops.local_broker import LocalBroker, broker_answers, log_tail, wait_for_broker
from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import free_port, settings_env


def test_partition_count_and_wipe(tmp_path):
    broker = LocalBroker(tmp_path / "install", tmp_path / "state")
    assert broker.partition_count() == 0 and not broker.wipe()
    for name in ["orders-0", "orders-1", "it-1.catalog-3", "__cluster_metadata-0"]:
        (broker.data / name).mkdir(parents=True)
    (broker.data / "meta.properties").write_text("node.id=1\n")
    (broker.data / "bootstrap.checkpoint").mkdir()  # not a partition folder
    assert broker.partition_count() == 4
    assert broker.wipe()
    assert not broker.data.exists() and broker.partition_count() == 0
    assert broker.libs == tmp_path / "install" / "libs"  # the jars are kept


def test_log_tail_keeps_entries_and_drops_stack_traces(tmp_path):
    log = tmp_path / "server.log"
    assert log_tail(log) == "(no log)"
    entries = [f"[2026-11-25 21:58:{i:02d},000] WARN entry {i}" for i in range(30)]
    log.write_text("\n".join(f"{e}\njava.lang.NullPointerException\n\tat kafka.X" for e in entries))
    assert log_tail(log, lines=3).splitlines() == entries[-3:]


def test_stopping_a_broker_this_process_started_reaps_it_instead_of_waiting_on_its_zombie(
    tmp_path,
):
    # the tests start their broker as a child: once it exits it stays a zombie until reaped,
    # and a stop that only asked whether the pid exists waited its whole timeout, then killed
    broker = LocalBroker(tmp_path / "install", tmp_path / "state")
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    broker.pid_file.parent.mkdir(parents=True, exist_ok=True)
    broker.pid_file.write_text(str(child.pid))

    assert broker.stop(timeout=30.0)
    with pytest.raises(ChildProcessError):  # reaped by `stop`, after SIGTERM
        os.waitpid(child.pid, os.WNOHANG)
    assert not broker.pid_file.exists() and broker.pid() is None


def test_waiting_for_a_broker_returns_once_it_answers_and_reports_the_wait():
    tries, reports = [], []

    def answers(bootstrap: str) -> bool:
        tries.append(bootstrap)
        return len(tries) >= 4  # down for three tries

    assert wait_for_broker(
        "kafka:9092", 30.0, reports.append, answers, poll=0.01, report_every=0.02
    )
    assert tries == ["kafka:9092"] * 4
    assert reports and reports[0] < 0.01  # said at once, then every report_every
    assert all(b - a >= 0.02 for a, b in itertools.pairwise(reports))


def test_waiting_for_a_broker_gives_up_after_its_timeout():
    start = time.monotonic()
    assert not wait_for_broker("kafka:9092", 0.1, lambda s: None, lambda b: False, poll=0.02)
    assert 0.1 <= time.monotonic() - start < 1.0


def test_no_broker_answers_where_nothing_listens_or_a_name_does_not_resolve():
    nothing = f"127.0.0.1:{free_port()}"
    assert not broker_answers(nothing)
    assert not broker_answers(f"no-such-host.invalid:9092, {nothing}")


def test_a_worker_whose_broker_never_answers_exits_with_the_settings_named(tmp_path):
    settings = Settings(
        bootstrap_servers=f"127.0.0.1:{free_port()}",
        topic_prefix="t.",
        data_dir=tmp_path / "state",
        web_port=free_port(),
        web_enabled=False,
        broker_wait_seconds=1.0,
    )
    done = subprocess.run(
        [sys.executable, "-m", "realtime_mkt", "worker"],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"waiting for a Kafka broker at {settings.bootstrap_servers}" in done.stderr
    error = done.stderr.splitlines()[-1]
    assert error.startswith(f"error: no Kafka broker answered at {settings.bootstrap_servers}")
    assert "KAFKA_BOOTSTRAP_SERVERS" in error and "REALTIME_MKT_BROKER_WAIT" in error
    assert "Traceback" not in done.stderr
