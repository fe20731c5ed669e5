"""The JSON text the gateway sends (websocket frames, HTTP bodies, codex requests) and
stores (SQLite rows), encoded by orjson.

Why: a codex turn through the gateway encodes ~50 values (every frame's envelope, each
notification's params once, store rows, codex requests); `json`'s encoder took ~7 µs for
a 600-byte notification where orjson takes ~0.5 µs, a tenth of the gateway's CPU per turn.

The text is what `json.dumps(value, separators=(",", ":"), ensure_ascii=False)` gives for
the values the gateway handles (strings, ints, floats, bools, None, dicts with string keys,
lists and tuples), except that a float may be spelled shorter (`1e-7`, not `1e-07`: the
same number) and NaN/Infinity, which are not JSON, become `null` (as Node's
`JSON.stringify`, codex-manager's encoder, does). What orjson refuses (an int past 64 bits, a
non-string key, a lone surrogate) goes to `json` as before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# One encoder for the fallback: `json.dumps` with keyword arguments builds one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _ENCODER.encode(value)
