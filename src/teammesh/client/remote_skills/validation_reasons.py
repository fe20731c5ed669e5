"""`<path>: <reason>` lines for jsonschema's errors: the text an agent reads when its
arguments are refused.

The reasons are ours, not jsonschema's English (which quotes the whole value back): short,
stable across library versions, and the same wording the hand-written validator used, so
existing prompts and tests keep reading the same. The path is JSONPath-like: `$` the
arguments, `.name` a property, `[3]` an item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator

from teammesh.client.remote_skills import validation_guards as guards

_TYPE_NAMES = {
    "null": "null",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}
# Reasons that need only the keyword's value ({expected}) and the refused one ({value}).
_TEMPLATES = {
    "const": "must be {expected!r}",
    "minimum": "must be >= {expected}, got {value}",
    "maximum": "must be <= {expected}, got {value}",
    "exclusiveMinimum": "must be > {expected}, got {value}",
    "exclusiveMaximum": "must be < {expected}, got {value}",
    "multipleOf": "must be a multiple of {expected}, got {value}",
    "minLength": "must be at least {expected} characters long",
    "maxLength": "must be at most {expected} characters long",
    "pattern": "must match pattern {expected!r}",
    "format": "must be a valid {expected}",
    "minItems": "must have at least {expected} items",
    "maxItems": "must have at most {expected} items",
    "uniqueItems": "must not contain duplicate items",
}
# Several problems on one path read in this order (the old validator's order of checks).
_ORDER = {keyword: rank for rank, keyword in enumerate((
    "type", "const", "enum", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "minItems",
    "maxItems", "uniqueItems", "items", "contains", "required", "dependentRequired",
    "additionalProperties", "minProperties", "maxProperties", "allOf", "anyOf", "oneOf", "not",
))}


def json_path(parts: Iterable[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def describe(value: Any, validator: Validator) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if validator.is_type(value, name):
            return _TYPE_NAMES[name]
    return type(value).__name__


def _unexpected(error: ValidationError) -> list[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    properties = schema.get("properties")
    known = set(properties) if isinstance(properties, dict) else set()
    patterns = list(schema.get("patternProperties") or ())
    instance: Any = error.instance
    extras = sorted(
        str(key) for key in instance
        if key not in known and not any(guards.search(p, str(key)) for p in patterns)
    )
    allowed = ", ".join(sorted(known)) or "none"
    if patterns:
        allowed += "; or names matching " + ", ".join(repr(p) for p in sorted(patterns))
    return [f"unexpected property {key!r} (allowed: {allowed})" for key in extras]


def _reasons(error: ValidationError, validator: Validator) -> list[str]:
    """Why one error: usually one reason, one per extra key for `additionalProperties`."""
    # Typed Any: jsonschema's stubs allow an "unset" marker that never reaches a raised error.
    keyword: Any = error.validator
    expected: Any = error.validator_value
    value: Any = error.instance
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
        return [f"expected {wanted}, got {describe(value, validator)}"]
    if keyword in _TEMPLATES:
        return [_TEMPLATES[keyword].format(expected=expected, value=value)]
    if keyword == "enum":
        return [f"must be one of {', '.join(repr(option) for option in expected)}"]
    if keyword == "items" and expected is False:  # no items beyond `prefixItems`
        schema = error.schema if isinstance(error.schema, dict) else {}
        return [f"must have at most {len(schema.get('prefixItems', ()))} items"]
    if keyword == "additionalProperties":
        return _unexpected(error)
    if keyword == "anyOf":
        first = render_errors(validator, (e for e in error.context if e.schema_path[0] == 0))
        return [f"matches none of the allowed shapes ({first[0] if first else 'no match'})"]
    if keyword == "oneOf":
        matches = sum(validator.evolve(schema=sub).is_valid(value) for sub in expected)
        return [f"must match exactly one allowed shape (matched {matches})"]
    if keyword == "not":
        return [f"must not match {json.dumps(expected, sort_keys=True)}"]
    if keyword is None:  # the `false` schema
        return ["is not allowed"]
    return [error.message]  # ours already (required) or a rare keyword: the library's words


def render_errors(validator: Validator, errors: Iterable[ValidationError]) -> list[str]:
    """Every error as `<path>: <reason>`, ordered by path, then keyword, then text."""
    lines: list[tuple[tuple[tuple[int, str], ...], int, str]] = []
    for error in errors:
        parts = tuple(error.absolute_path)
        key = tuple((0, f"{p:012d}") if isinstance(p, int) else (1, str(p)) for p in parts)
        rank = _ORDER.get(str(error.validator), len(_ORDER))
        for reason in _reasons(error, validator):
            lines.append((key, rank, f"{json_path(parts)}: {reason}"))
    return [text for _, _, text in sorted(set(lines))]
