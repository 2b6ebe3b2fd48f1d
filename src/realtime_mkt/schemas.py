"""JSON Schemas in `schemas/`: loading and fast validation with field-level error messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema

from realtime_mkt.settings import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schemas"


class SchemaViolation(ValueError):
    """A value does not match its schema; `field` is a dotted path such as `lines[0].quantity`."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema document `schemas/<name>.json` (for example `orders.v1`)."""
    return json.loads((SCHEMA_DIR / f"{name}.json").read_text())


@cache
def _compiled(name: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load_schema(name))


def _dotted(path: list[str]) -> str:
    out = ""
    for part in path[1:]:  # path[0] is fastjsonschema's "data"
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def _describe(exc: fastjsonschema.JsonSchemaValueException, value: Any) -> SchemaViolation:
    path = list(exc.path or ["data"])
    where = _dotted(path)
    if exc.rule in ("required", "additionalProperties"):
        node = value
        for part in path[1:]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if exc.rule == "required":
            missing = [f for f in exc.definition["required"] if f not in node]
            field = f"{where}.{missing[0]}" if where else missing[0]
            return SchemaViolation(field, "is required but missing")
        extra = sorted(set(node) - set(exc.definition.get("properties", {})))
        field = f"{where}.{extra[0]}" if where else extra[0]
        return SchemaViolation(field, "is not a field of this event (unknown field)")
    detail = exc.message.removeprefix(exc.name).strip() if exc.name else exc.message
    return SchemaViolation(where or None, f"{detail} (got {json.dumps(exc.value)[:80]})")


def validate(name: str, value: Any) -> None:
    """Raise `SchemaViolation` naming the first offending field if `value` breaks schema `name`."""
    try:
        _compiled(name)(value)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise _describe(exc, value) from None
