"""A single-node Apache Kafka broker (KRaft) run from Maven Central jars with the machine's Java.

`start` resolves the jars once into the cache folder (`mvn dependency:copy-dependencies` on a pom
shipped in this package), formats the storage the first time, starts `kafka.Kafka` on
127.0.0.1:9092 and returns when the broker answers. `stop` ends it cleanly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "3.9.1"  # last 3.x: KRaft, and still speaks every protocol version aiokafka uses
BROKER_FILES = Path(__file__).parent / "broker"
HOST, PORT, CONTROLLER_PORT = "127.0.0.1", 9092, 9093


class BrokerError(RuntimeError):
    """The local broker cannot be prepared, started or stopped; the message says why."""


@dataclass(frozen=True)
class LocalBroker:
    """One local broker: its jars under `home`, its data, logs, config and pid file under `state`.

    The default broker keeps both in one folder; the tests run a throwaway `state` on the same jars.
    """

    home: Path
    state: Path

    @classmethod
    def default(cls) -> LocalBroker:
        """The broker under `$REALTIME_MKT_HOME` (default `~/.cache/realtime-mkt`)."""
        root = Path(os.environ.get("REALTIME_MKT_HOME", Path.home() / ".cache" / "realtime-mkt"))
        home = root / f"kafka-{KAFKA_VERSION}"
        return cls(home, home)

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def data(self) -> Path:
        return self.state / "data"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pid_file(self) -> Path:
        return self.state / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{PORT}"

    def partition_count(self) -> int:
        """How many partition folders the broker's data holds (its start-up time grows with it)."""
        if not self.data.exists():
            return 0
        return sum(1 for p in self.data.iterdir() if p.is_dir() and p.name[-1:].isdigit())

    def wipe(self) -> bool:
        """Stop the broker and delete its data (every topic); True if there was data."""
        self.stop()
        existed = self.data.exists()
        shutil.rmtree(self.data, ignore_errors=True)
        return existed

    def ensure_jars(self) -> None:
        """Resolve the broker jars from Maven Central into `libs/` unless already there."""
        marker = self.libs / f".complete-{KAFKA_VERSION}"
        if marker.exists():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Maven (`mvn`) is not on PATH: it is needed once to fetch the Kafka jars from "
                "Maven Central (Debian: `apt-get install maven`)."
            )
        self.libs.mkdir(parents=True, exist_ok=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(BROKER_FILES / "pom.xml"),
            f"-Dkafka.version={KAFKA_VERSION}",
            "dependency:copy-dependencies", f"-DoutputDirectory={self.libs}",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise BrokerError(f"Maven could not resolve Kafka {KAFKA_VERSION}:\n{result.stdout}")
        marker.touch()

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java or not Path(java).exists():
            raise BrokerError(
                "Java (17 or newer) is not installed: set JAVA_HOME or put `java` on PATH."
            )
        return java

    def _write_config(self) -> Path:
        config = self.state / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@{HOST}:{CONTROLLER_PORT}",
                    f"listeners=PLAINTEXT://{HOST}:{PORT},CONTROLLER://{HOST}:{CONTROLLER_PORT}",
                    f"advertised.listeners=PLAINTEXT://{HOST}:{PORT}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={self.data}",
                    "num.partitions=1",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=4",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "",
                ]
            )
        )
        return config

    def _jvm(self, main: str, *args: str) -> list[str]:
        return [
            self._java(), "-Xms256m", "-Xmx768m", "-XX:+UseG1GC",
            f"-Dlog4j.configuration=file:{BROKER_FILES / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.logs}",
            "-cp", f"{self.libs}/*", main, *args,
        ]  # fmt: skip

    def pid(self) -> int | None:
        """The broker's process id if it is running."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        return pid

    def start(self, timeout: float = 180.0) -> str:
        """Start the broker (idempotent) and return its bootstrap address once it answers."""
        if self.pid() is not None and broker_answers(self.bootstrap):
            return self.bootstrap
        if port_open(HOST, PORT):
            raise BrokerError(f"something else already listens on {HOST}:{PORT}")
        java = self._java()  # fail early with a clear message
        self.ensure_jars()
        self.logs.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        if not (self.data / "meta.properties").exists():
            cluster_id = uuid.uuid4().hex[:22]
            fmt = self._jvm(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)
            )
            result = subprocess.run(fmt, capture_output=True, text=True)
            if result.returncode != 0:
                raise BrokerError(f"formatting storage failed:\n{result.stdout}{result.stderr}")
        out = (self.logs / "stdout.log").open("ab")
        process = subprocess.Popen(
            self._jvm("kafka.Kafka", str(config)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BrokerError(f"broker exited with {process.returncode}; see {self.logs}")
            if broker_answers(self.bootstrap):
                return self.bootstrap
            time.sleep(0.5)
        self.stop()
        raise BrokerError(
            f"broker did not answer within {timeout:.0f}s (java: {java}); its data holds "
            f"{self.partition_count()} partitions (`realtime-mkt kafka wipe` deletes them). "
            f"Last lines of {self.logs / 'server.log'}:\n{log_tail(self.logs / 'server.log')}"
        )

    def stop(self, timeout: float = 90.0) -> bool:
        """Stop the broker; True if one was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if exited(pid):
                break
            time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGKILL)
            exited(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def exited(pid: int) -> bool:
    """Whether process `pid` has exited; reaped if it is this process's child (a broker the
    tests started), which otherwise stays a zombie that `kill(pid, 0)` still finds."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:  # not a child of this process
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def port_open(host: str, port: int) -> bool:
    """True if a TCP connection to host:port succeeds (False also for a name that does not
    resolve)."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        try:
            return sock.connect_ex((host, port)) == 0
        except OSError:
            return False


def broker_answers(bootstrap: str) -> bool:
    """True if a Kafka broker at `bootstrap` (host:port, or several separated by commas)
    answers a metadata request."""
    addresses = [a.strip().rpartition(":") for a in bootstrap.split(",") if a.strip()]
    if not any(port_open(host, int(port)) for host, _, port in addresses):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    except KafkaError:
        return False
    try:
        admin.list_topics()
        return True
    except KafkaError:
        return False
    finally:
        admin.close()


def no_broker_answers(bootstrap: str) -> str:
    """What to say when no broker answers at `bootstrap`."""
    return (
        f"no Kafka broker answers at {bootstrap} (KAFKA_BOOTSTRAP_SERVERS; the local one: "
        "`realtime-mkt kafka start`)"
    )


def log_tail(log: Path, lines: int = 15) -> str:
    """The last `lines` entries of a broker log, without the stack-trace lines between them."""
    if not log.exists():
        return "(no log)"
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 64_000))
        tail = f.read().decode(errors="replace").splitlines()
    return "\n".join([line for line in tail if line.startswith("[")][-lines:])
