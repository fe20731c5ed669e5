"""The JSON text the gateway sends (websocket frames, HTTP bodies, codex requests) and
stores (SQLite rows), encoded by orjson; and codex's lines, parsed by orjson (`loads`).

Why: a codex turn through the gateway encodes ~50 values (every frame's envelope, each
notification's params once, store rows, codex requests); `json`'s encoder took ~7 µs for
a 600-byte notification where orjson takes ~0.5 µs, a tenth of the gateway's CPU per turn.

The text is what `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` gives for
the values the gateway handles (strings, ints, floats, bools, None, dicts with string keys,
lists and tuples), except that a float may be spelled shorter (`1e-7`, not `1e-07`: the
same number) and NaN/Infinity, which are not JSON, become `null` (as Node's
`JSON.stringify`, codex-manager's encoder, does). What orjson refuses (an int past 64 bits, a
non-string key, a lone surrogate) goes to `json` as before; a text that would hold a lone
surrogate (no UTF-8 text: a socket's or a store's encode raises) is `json`'s ASCII
spelling instead, `\ud800` escaped, which parses back to the same value. (Raw, it raised in
the fan-out's one write callback and stalled every socket after it: tests/gateway/
test_fanout_unencodable_text.py.)

`loads` gives what `json.loads` gives: orjson parses unless the text has a run of 19 or
more digits (orjson turns an integer past 64 bits into a float; json keeps it exact), and
whatever orjson refuses (NaN, a lone surrogate, deep nesting, a BOM, bad UTF-8) goes to
`json`, which accepts or refuses it as before. One `json.loads` of a codex line cost
~30 µs under the profiler (encoding detection, decode, the scanner); orjson is one call.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_DIGITS = re.compile(rb"\d{19}")

# One encoder for the fallback: `json.dumps` with keyword arguments builds one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"))


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        text = _ENCODER.encode(value)
    try:
        text.encode()
    except UnicodeEncodeError:
        return _ASCII_ENCODER.encode(value)  # a lone surrogate: escaped, the same value
    return text


def loads(data: bytes) -> Any:
    """`json.loads(data)`, faster for what codex writes."""
    if _LONG_DIGITS.search(data) is None:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # json decides: it accepts some of what orjson refuses, and words errors
    return json.loads(data)
