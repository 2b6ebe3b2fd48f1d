"""A Prometheus server (Debian's package, `.ci/prometheus-dir`) scraping a worker and evaluating
docs/alerts.yml, as a test drives it."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from realtime_mkt.worker_process import free_port

REPO = Path(__file__).resolve().parents[2]
SCRAPE_SECONDS = 1


class Prometheus:
    """The HTTP API of a running Prometheus server."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

    def api(self, path: str, **params: str) -> Any:
        """The `data` of a GET on `/api/v1/<path>`."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}{query}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector `expr` evaluates to now."""
        return self.api("query", query=expr)["result"]

    def wait_for(
        self,
        expr: str,
        accept: Callable[[list[dict[str, Any]]], bool] = bool,
        timeout: float = 60,
    ) -> list[dict[str, Any]]:
        """The result of `expr` once `accept` takes it (by default: once it is not empty)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if accept(result := self.query(expr)):
                return result
            time.sleep(SCRAPE_SECONDS)
        raise TimeoutError(f"{expr} was {result} for {timeout}s; see {self.log}")

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts pending or firing now."""
        return self.api("alerts")["alerts"]

    def wait_for_alert(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """The alert `name` once it is pending or firing."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for alert in self.alerts():
                if alert["labels"]["alertname"] == name:
                    return alert
            time.sleep(SCRAPE_SECONDS)
        raise TimeoutError(f"{name} did not become pending within {timeout}s; see {self.log}")


@contextmanager
def prometheus_scraping(worker_port: int, folder: Path) -> Iterator[Prometheus]:
    """Prometheus scraping the worker on `worker_port` as job "realtime-mkt" every second and
    evaluating docs/alerts.yml every second; stopped on exit."""
    binaries = subprocess.run(
        [REPO / ".ci" / "prometheus-dir"], check=True, capture_output=True, text=True
    ).stdout.strip()
    config = folder / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {
                    "scrape_interval": f"{SCRAPE_SECONDS}s",
                    "evaluation_interval": f"{SCRAPE_SECONDS}s",
                },
                "rule_files": [str(REPO / "docs" / "alerts.yml")],
                "scrape_configs": [
                    {
                        "job_name": "realtime-mkt",
                        "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}],
                    }
                ],
            }
        )
    )
    port, log = free_port(), folder / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                f"{binaries}/prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        server = Prometheus(port, log)
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                server.api("status/runtimeinfo")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
