"""The worker's web port, as a test reads it."""

from __future__ import annotations

import json
import re
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


def sample(metrics_text: str, name: str) -> float:
    """The value of an unlabelled sample in Prometheus' text format."""
    match = re.search(rf"^{name} (\S+)$", metrics_text, re.MULTILINE)
    assert match, f"{name} is not on /metrics"
    return float(match.group(1))
