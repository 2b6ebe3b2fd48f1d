"""The worker's web port, as a test reads it."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request


def get(port: int, path: str) -> tuple[int, dict | str]:
    """The status and body (parsed when it is JSON) of a GET on the worker's web port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            body = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = error.read().decode(), error.code
    try:
        return status, json.loads(body)
    except json.JSONDecodeError:
        return status, body


def value(metrics_text: str, series: str) -> float | None:
    """The value of one series in Prometheus' text format, written as the text writes it
    (`name` or `name{label="value"}`), or None if it is not there."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", metrics_text, re.MULTILINE)
    return float(match.group(1)) if match else None


def sample(metrics_text: str, series: str) -> float:
    """The value of a series that must be on `/metrics`."""
    found = value(metrics_text, series)
    assert found is not None, f"{series} is not on /metrics"
    return found


def wait_for_events(port: int, topic: str, count: int, timeout: float = 60) -> None:
    """Wait until the worker's `/metrics` counts `count` records of `topic` taken in."""
    series = f'realtime_mkt_events_total{{topic="{topic}"}}'
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            taken = value(str(get(port, "/metrics")[1]), series)
        except urllib.error.URLError:  # the worker's web server is not up yet
            taken = None
        if taken is not None and taken >= count:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the worker did not take in {count} {topic} records within {timeout}s")
