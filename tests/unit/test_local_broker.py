"""The local broker's housekeeping: what its data holds, wiping it, the log shown on failure,
stopping a broker this process started, and whether a broker answers."""

from __future__ import annotations

import os
import subprocess

import pytest

from realtime_mkt.ops.local_broker import LocalBroker, broker_answers, log_tail
from realtime_mkt.worker_process import free_port


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


def test_no_broker_answers_where_nothing_listens_or_a_name_does_not_resolve():
    nothing = f"127.0.0.1:{free_port()}"
    assert not broker_answers(nothing)
    assert not broker_answers(f"no-such-host.invalid:9092, {nothing}")
