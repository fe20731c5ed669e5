"""A small JSON-schema validator: the subset tool input schemas use.

Supported: type (one or a list), nullable, enum, const, properties, required,
additionalProperties (bool or schema), items, minItems/maxItems, minimum/maximum,
exclusiveMinimum/exclusiveMaximum, minLength/maxLength, pattern, anyOf/oneOf/allOf.
Unknown keywords are ignored (a schema may carry descriptions and other annotations).
"""

from __future__ import annotations

import math
import re
from typing import Any

_TYPE_NAMES = {
    "null": "null",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "array": "an array",
    "object": "an object",
}


def _has_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and (not isinstance(value, float) or math.isfinite(value))
        )
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list | tuple)
    if name == "object":
        return isinstance(value, dict)
    return True  # an unknown type name constrains nothing


def _path(base: str, key: str | int) -> str:
    return f"{base}[{key}]" if isinstance(key, int) else f"{base}.{key}"


def validation_error(value: Any, schema: Any, path: str = "$") -> str | None:
    """The first violation as `<path>: <reason>`, or `None` when the value conforms."""
    if not isinstance(schema, dict) or not schema:
        return None
    if value is None and schema.get("nullable") is True:
        return None

    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else [t for t in types if isinstance(t, str)]
        if names and not any(_has_type(value, name) for name in names):
            expected = " or ".join(_TYPE_NAMES.get(name, name) for name in names)
            return f"{path}: expected {expected}, got {_describe(value)}"

    if "const" in schema and value != schema["const"]:
        return f"{path}: must be {schema['const']!r}"
    enum = schema.get("enum")
    if isinstance(enum, list) and not any(_same(value, option) for option in enum):
        return f"{path}: must be one of {', '.join(repr(o) for o in enum)}"

    for check in (_check_number, _check_string, _check_array, _check_object, _check_combinators):
        if (error := check(value, schema, path)) is not None:
            return error
    return None


def _same(a: Any, b: Any) -> bool:
    # JSON equality: True is not 1.
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b


def _describe(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _has_type(value, name):
            return _TYPE_NAMES[name]
    return type(value).__name__


def _check_number(value: Any, schema: dict[str, Any], path: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    for key, symbol in (
        ("minimum", ">="),
        ("maximum", "<="),
        ("exclusiveMinimum", ">"),
        ("exclusiveMaximum", "<"),
    ):
        bound = schema.get(key)
        if not isinstance(bound, int | float) or isinstance(bound, bool):
            continue
        ok = {
            ">=": value >= bound,
            "<=": value <= bound,
            ">": value > bound,
            "<": value < bound,
        }[symbol]
        if not ok:
            return f"{path}: must be {symbol} {bound}, got {value}"
    return None


def _check_string(value: Any, schema: dict[str, Any], path: str) -> str | None:
    if not isinstance(value, str):
        return None
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(value) < low:
        return f"{path}: must be at least {low} characters long"
    if isinstance(high, int) and len(value) > high:
        return f"{path}: must be at most {high} characters long"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                return f"{path}: must match pattern {pattern!r}"
        except re.error:
            return None
    return None


def _check_array(value: Any, schema: dict[str, Any], path: str) -> str | None:
    if not isinstance(value, list | tuple):
        return None
    low, high = schema.get("minItems"), schema.get("maxItems")
    if isinstance(low, int) and len(value) < low:
        return f"{path}: must have at least {low} items"
    if isinstance(high, int) and len(value) > high:
        return f"{path}: must have at most {high} items"
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            if (error := validation_error(item, items, _path(path, index))) is not None:
                return error
    return None


def _check_object(value: Any, schema: dict[str, Any], path: str) -> str | None:
    if not isinstance(value, dict):
        return None
    required = schema.get("required")
    if isinstance(required, list):
        for name in required:
            if isinstance(name, str) and name not in value:
                return f"{path}: missing required property {name!r}"
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    additional = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            error = validation_error(item, properties[key], _path(path, str(key)))
        elif additional is False:
            allowed = ", ".join(sorted(properties)) or "none"
            error = f"{path}: unexpected property {key!r} (allowed: {allowed})"
        elif isinstance(additional, dict):
            error = validation_error(item, additional, _path(path, str(key)))
        else:
            error = None
        if error is not None:
            return error
    return None


def _check_combinators(value: Any, schema: dict[str, Any], path: str) -> str | None:
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        for sub in all_of:
            if (error := validation_error(value, sub, path)) is not None:
                return error
    any_of = schema.get("anyOf")
    if isinstance(any_of, list) and any_of:
        errors = [validation_error(value, sub, path) for sub in any_of]
        if all(error is not None for error in errors):
            return f"{path}: matches none of the allowed shapes ({errors[0]})"
    one_of = schema.get("oneOf")
    if isinstance(one_of, list) and one_of:
        matches = sum(validation_error(value, sub, path) is None for sub in one_of)
        if matches != 1:
            return f"{path}: must match exactly one allowed shape (matched {matches})"
    return None
