"""`json.dumps(value, indent=2, ensure_ascii=False)`, byte for byte, several times faster.

Why: every tool call's transcript entries and pending row carry their JSON as indented
`details` text (three per call). With `indent`, the standard library drops its C encoder
for the pure-Python one, which made those three strings a quarter of the gateway's CPU per
tool call (issue 15's profile). Here containers are laid out in Python, strings go through
json's own C string encoder and numbers are written by json's rules, so the text is exactly
json's. Anything unusual (a non-string key, a subclass, a type json converts itself) falls
back to json; tests/gateway/test_pretty_json.py holds the two to each other.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

# The C string encoder json itself uses for `ensure_ascii=False`.
_STRING = encode_basestring
_CONSTANTS = {None: "null", True: "true", False: "false"}


class _Fallback(Exception):
    pass


def dumps_indented(value: Any) -> str:
    """What `json.dumps(value, indent=2, ensure_ascii=False)` returns."""
    try:
        return _layout(value, "\n")
    except (_Fallback, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _layout(value: Any, newline: str) -> str:
    kind = value.__class__
    if kind is str:
        return _STRING(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = newline + "  "
        parts = []
        for key, item in value.items():
            if key.__class__ is not str:
                raise _Fallback  # json converts such keys; let it
            parts.append(_STRING(key) + ": " + _layout(item, inner))
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        inner = newline + "  "
        return "[" + inner + ("," + inner).join([_layout(v, inner) for v in value]) + newline + "]"
    if value is None or kind is bool:
        return _CONSTANTS[value]
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return _float(value)
    raise _Fallback  # subclasses and other types: json's own rules
