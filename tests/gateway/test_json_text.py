"""The gateway's JSON text (gateway/json_text.py): orjson's encoding, the same text `json`
gives for what the gateway sends and stores, and `json` itself for what orjson refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from teammesh.gateway.json_text import dumps, loads


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("value", [
    {"method": "item/completed", "params": {"item": {"type": "agentMessage", "text": "ok"}}},
    {"text": "naïve “quotes” \n\t\\ \" \u2028 \x00 \x1f 😀", "n": [1, -2, 2.5, None, True]},
    {"nested": {"a": [{"b": []}, {}]}, "tuple": (1, "two"), "big": 2 ** 63 - 1},
    [], "plain", 0, None,
])
def test_same_text_as_json(value: Any) -> None:
    assert dumps(value) == _json(value)


@pytest.mark.parametrize("value", [
    {"huge": 2 ** 70},  # past 64 bits
    {1: "int key"},
])
def test_what_orjson_refuses_is_encoded_by_json(value: Any) -> None:
    assert dumps(value) == _json(value)


def test_a_lone_surrogate_is_escaped_so_the_text_is_utf8() -> None:
    text = dumps({"lone": "x\ud800", "é": 2 ** 70})
    assert text == '{"lone":"x\\ud800","\\u00e9":1180591620717411303424}'
    text.encode()  # UTF-8 text: a socket and a store take it
    assert json.loads(text) == {"lone": "x\ud800", "é": 2 ** 70}


def test_non_finite_floats_become_null_and_floats_keep_their_value() -> None:
    assert dumps({"a": float("nan"), "b": float("inf")}) == '{"a":null,"b":null}'
    assert json.loads(dumps({"x": 1e-7, "y": 0.1, "z": 1e16})) == {"x": 1e-7, "y": 0.1, "z": 1e16}


@pytest.mark.parametrize("data", [
    b'{"method":"item/completed","params":{"item":{"id":"x","text":"h\\u00e9 \\n"}}}',
    b'{"id":7,"result":{"n":[1,-0,2.5,1e-7,1E300,null,true,false]}}',
    b'{"big":123456789012345678901234567890,"neg":-18446744073709551617}',  # past 64 bits
    b'{"max":9223372036854775807,"min":-9223372036854775808}',
    b'{"a":1,"a":2}', b' {"pad": [ ] } ', b'"just a string"', b"[]",
    b'{"nan":NaN,"inf":Infinity}',  # not JSON; json takes it, so must we
    b'{"lone":"\\ud800"}',
    b'{"huge":1e400}',
])
def test_loads_is_json_loads(data: bytes) -> None:
    assert repr(loads(data)) == repr(json.loads(data))


@pytest.mark.parametrize("data", [b"", b"{", b'{"a":}', b"\xff\xfe{}", b"[1,]"])
def test_loads_refuses_what_json_refuses(data: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(data)
    with pytest.raises(ValueError):
        loads(data)
