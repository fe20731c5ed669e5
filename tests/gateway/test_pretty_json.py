"""`dumps_indented` is `json.dumps(indent=2, ensure_ascii=False)` byte for byte: the
transcript's `details` texts must not change because they are built faster."""

from __future__ import annotations

import json
from typing import Any

import pytest

from teammesh.gateway.pretty_json import dumps_indented

CASES: list[Any] = [
    None, True, False, 0, -7, 2**70, 1.5, 1e-9, float("nan"), float("inf"), "", "plain",
    "ünïcode ☃ \u2028 \"quoted\" \\ \n\t\x00", [], {}, [[]], {"a": {}}, {"a": []},
    [1, [2, [3, {"b": None}]], "x"], ("tuple", 1), {"e\u0301": [{"k": 1.25}, {}]},
    {"id": "call-1", "type": "dynamicToolCall", "tool": "echo",
     "arguments": {"n": 3, "deep": {"list": [1, 2, {"x": [None, True]}]}},
     "contentItems": [{"type": "inputText", "text": "{\"ok\":true}"}], "success": True},
    -0.0, 1e300, -float("inf"), [1.0, 2, "3"], {"nested": [[[]], [{}], {"z": ""}]},
    # json converts these itself: the fallback keeps its output.
    {1: "int key", None: "none key", False: "bool key", 2.5: "float key"},
]


@pytest.mark.parametrize("value", CASES, ids=range(len(CASES)))
def test_same_text_as_json(value: Any) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_deep_nesting_falls_back_to_json() -> None:
    deep: Any = []
    for _ in range(3000):
        deep = [deep]
    with pytest.raises(RecursionError):
        json.dumps(deep, indent=2)
    with pytest.raises(RecursionError):
        dumps_indented(deep)


def test_unserialisable_raises_like_json() -> None:
    with pytest.raises(TypeError):
        dumps_indented({"a": object()})
