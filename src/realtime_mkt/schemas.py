"""JSON Schemas in `schemas/`: loading and fast validation with field-level error messages."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs

from realtime_mkt.settings import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schemas"
SHOWN_VALUE_CHARS = 80  # a longer offending value is cut in the message (the dead letter keeps it)


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
def _validator(name: str) -> Any:
    return jsonschema_rs.validator_for(load_schema(name), validate_formats=True)


def _dotted(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _describe(error: jsonschema_rs.ValidationError) -> SchemaViolation:
    where = _dotted(list(error.instance_path))
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return SchemaViolation(
            _dotted([*error.instance_path, kind.property]), "is required but missing"
        )
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        field = _dotted([*error.instance_path, sorted(kind.unexpected)[0]])
        return SchemaViolation(field, "is not a field of this event (unknown field)")
    message = error.message
    shown = json.dumps(error.instance)
    if len(shown) > SHOWN_VALUE_CHARS and message.startswith(shown):
        message = f"{shown[: SHOWN_VALUE_CHARS - 3]}...{message[len(shown) :]}"
    return SchemaViolation(where or None, message)


def validate(name: str, value: Any) -> None:
    """Raise `SchemaViolation` naming the first offending field if `value` breaks schema `name`."""
    try:
        _validator(name).validate(value)
    except jsonschema_rs.ValidationError as error:
        raise _describe(error) from None
