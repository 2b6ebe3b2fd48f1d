"""A real Kafka broker for the integration tests, and a running worker on fresh topics.

Broker, in order: `KAFKA_BOOTSTRAP_SERVERS` if set; a testcontainers Kafka if a Docker engine
answers; the local broker if it is already running; otherwise a throwaway local Apache Kafka
(the cached Maven jars, empty data under pytest's temporary folder) started for this session.
If none can be had, the tests fail: they are never skipped (but for the one test that
crashes the broker, which needs a local one). Each test deletes its topics after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from realtime_mkt.ops.lag import wait_until_consumed
from realtime_mkt.ops.local_broker import BrokerError, LocalBroker, broker_answers
from realtime_mkt.ops.topic_admin import create_topics, delete_topics
from realtime_mkt.settings import Settings
from realtime_mkt.worker_process import free_port, start_worker, stop_worker
from tests.integration.kafka_io import produce_in_order

pytestmark = pytest.mark.integration


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=15).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="session")
def session_broker(tmp_path_factory) -> Iterator[tuple[str, LocalBroker | None]]:
    """The broker's bootstrap address, and the local broker behind it when this machine runs
    it (None for `KAFKA_BOOTSTRAP_SERVERS` or a container: the tests cannot stop and start it)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        if not broker_answers(configured):
            pytest.fail(f"KAFKA_BOOTSTRAP_SERVERS={configured} does not answer")
        yield configured, None
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer("apache/kafka:3.9.1").with_kraft() as container:
            yield container.get_bootstrap_server(), None
        return
    installed = LocalBroker.default()
    if broker_answers(installed.bootstrap):
        yield installed.bootstrap, installed
        return
    # not the default broker's data: whatever earlier runs left there must not slow this start
    broker = LocalBroker(installed.home, tmp_path_factory.mktemp("kafka"))
    try:
        bootstrap = broker.start()
    except BrokerError as exc:
        pytest.fail(f"no Kafka broker for the integration tests: {exc}")
    yield bootstrap, broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(session_broker: tuple[str, LocalBroker | None]) -> str:
    return session_broker[0]


@pytest.fixture()
def local_broker(session_broker: tuple[str, LocalBroker | None]) -> Iterator[LocalBroker]:
    """The session's broker, for a test that stops it; it answers again after the test."""
    broker = session_broker[1]
    if broker is None:
        pytest.skip("stops the broker: needs the local one, not KAFKA_BOOTSTRAP_SERVERS or Docker")
    yield broker
    broker.start()


@pytest.fixture()
def fresh_settings(kafka_bootstrap: str, tmp_path) -> Iterator[Settings]:
    """Settings with a unique topic prefix and an empty state folder: tests never share topics."""
    settings = Settings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"it-{uuid.uuid4().hex[:10]}.",
        data_dir=tmp_path / "state",
        web_port=free_port(),
        web_enabled=False,
        tick_seconds=3600.0,  # no timer ticks unless a test asks: outputs must equal the replay
    )
    yield settings
    delete_topics(settings)


class RunningWorker:
    """A worker child process on `settings`, restartable."""

    def __init__(self, settings: Settings, log_dir) -> None:
        self.settings = settings
        self.log = log_dir / "worker.log"
        self.started_at = 0  # where this process's lines start in the log
        self.process = start_worker(settings, self.log)

    def restart(self, wipe_local_state: bool, kill: bool = False) -> None:
        if kill:  # no shutdown: offsets, changelog and outputs may be out of step
            self.process.kill()
            self.process.wait()
        else:
            stop_worker(self.process)
        if wipe_local_state:
            shutil.rmtree(self.settings.data_dir, ignore_errors=True)
        self.started_at = self.log.stat().st_size
        self.process = start_worker(self.settings, self.log)

    def log_since_restart(self) -> str:
        """What the current process has logged."""
        with self.log.open("rb") as log:
            log.seek(self.started_at)
            return log.read().decode(errors="replace")

    def log_tail(self) -> str:
        """The end of the worker's log, for failure messages."""
        return self.log.read_text(errors="replace")[-6000:]

    def assert_alive(self) -> None:
        assert self.process.poll() is None, self.log_tail()

    def wait_logged(self, text: str, timeout: float = 60) -> None:
        """Wait until the current process, alive, has logged `text`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            if text in self.log_since_restart():
                return
            time.sleep(0.2)
        raise TimeoutError(f"the worker did not log {text!r} within {timeout}s; see {self.log}")

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until the current process reports that Faust's recovery is over and it consumes."""
        self.wait_logged("[^Worker]: Ready", timeout)

    def open_market(self, values: list[tuple[str, dict]]) -> None:
        """Publish catalog records and stock snapshots, and wait until the worker has them all."""
        produce_in_order(self.settings, values)
        self.wait_idle(["catalog", "inventory"])

    def wait_idle(self, topics: list[str], timeout: float = 90) -> None:
        def alive() -> bool:
            self.assert_alive()
            return True

        try:
            wait_until_consumed(self.settings, topics, timeout, alive)
        except TimeoutError as exc:  # the worker's own account goes with the lagging partitions
            raise TimeoutError(f"{exc}\n--- end of {self.log} ---\n{self.log_tail()}") from exc


FAULTS = {  # test marker -> the variable that switches the fault on in faults/sitecustomize.py
    "faust_buffer_delay": "REALTIME_MKT_FAULT_FAUST_BUFFER_DELAY",
    "send_delay": "REALTIME_MKT_FAULT_SEND_DELAY",
    "undelivered": "REALTIME_MKT_FAULT_UNDELIVERED",
    "agent_raises": "REALTIME_MKT_FAULT_AGENT_RAISES",
}


@pytest.fixture()
def faults(request, monkeypatch) -> None:
    """Inject the faults the test's markers name into the worker processes it starts (a
    marker's arguments, space-separated, are the variable's value)."""
    marked = {
        variable: " ".join(map(str, marker.args))
        for name, variable in FAULTS.items()
        if (marker := request.node.get_closest_marker(name)) is not None
    }
    if marked:
        folder = str(Path(__file__).parent / "faults")
        monkeypatch.setenv(
            "PYTHONPATH", os.pathsep.join([folder, *filter(None, [os.environ.get("PYTHONPATH")])])
        )
    for variable, value in marked.items():
        monkeypatch.setenv(variable, value)


def _running_worker(settings: Settings, folder: Path) -> Iterator[RunningWorker]:
    create_topics(settings)
    running = RunningWorker(settings, folder)
    yield running
    stop_worker(running.process)


@pytest.fixture()
def worker(fresh_settings: Settings, tmp_path, faults) -> Iterator[RunningWorker]:
    """A worker on fresh topics, with the faults the test's markers name (`FAULTS`)."""
    yield from _running_worker(fresh_settings, tmp_path)


@pytest.fixture()
def web_worker(fresh_settings: Settings, tmp_path, faults) -> Iterator[RunningWorker]:
    """The same, with its web server (views, `/metrics`) on a free port."""
    settings = replace(fresh_settings, web_enabled=True, web_port=free_port())
    yield from _running_worker(settings, tmp_path)


@pytest.fixture()
def ticking_web_worker(fresh_settings: Settings, tmp_path, faults) -> Iterator[RunningWorker]:
    """The same, whose timer sends the daily ticks (checked every second)."""
    settings = replace(fresh_settings, web_enabled=True, web_port=free_port(), tick_seconds=1.0)
    yield from _running_worker(settings, tmp_path)
