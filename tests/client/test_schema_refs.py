"""Inferred schemas are self-contained Draft 2020-12 documents: a pydantic model's `$defs`
are hoisted to the root, so every `$ref` resolves for a standard validator (before, a
parameter typed as a model pointed at `#/$defs/...` that sat inside the property)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from teammesh.client.remote_skills.registry import build_skill
from teammesh.client.remote_skills.schema_defs import hoist_definitions


class Leaf(BaseModel):
    n: int


class Inner(BaseModel):
    leaf: Leaf
    leaves: list[Leaf] = []


class Tree(BaseModel):
    label: str
    kids: list[Tree] = []


def _leaf_of(kind: type) -> type[BaseModel]:
    class Leaf(BaseModel):  # same name as the module's Leaf, another shape
        value: kind  # type: ignore[valid-type]

    return Leaf


IntLeaf = _leaf_of(int)
StrLeaf = _leaf_of(str)


class HoldsInt(BaseModel):
    leaf: IntLeaf  # type: ignore[valid-type]


class HoldsStr(BaseModel):
    leaf: StrLeaf  # type: ignore[valid-type]


@dataclass
class Box:
    inner: Inner


class Bag(TypedDict):
    leaf: Leaf


class Plain:
    def __init__(self, inner: Inner) -> None:
        self.inner = inner


def nested(inner: Inner, other: Leaf | None = None) -> Inner:
    raise NotImplementedError


def containers(many: list[Inner], named: dict[str, Leaf], box: Box, bag: Bag, plain: Plain
               ) -> None:
    raise NotImplementedError


def recursive(tree: Tree) -> Tree:
    raise NotImplementedError


def clash(a: HoldsInt, b: HoldsStr, c: Leaf) -> None:
    raise NotImplementedError


def _refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    if not isinstance(node, dict):
        return []
    own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
    return own + [ref for value in node.values() for ref in _refs(value)]


def _assert_self_contained(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    resolver = Registry().resolver_with_root(DRAFT202012.create_resource(schema))
    for ref in _refs(schema):
        assert ref.startswith("#/$defs/"), ref
        resolver.lookup(ref)  # raises (PointerToNowhere) when it points at nothing
    for value in schema.get("properties", {}).values():
        assert "$defs" not in value  # one table, at the root


SAMPLES: list[tuple[Any, dict[str, Any], dict[str, Any]]] = [
    (
        nested,
        {"inner": {"leaf": {"n": 1}, "leaves": [{"n": 2}]}, "other": {"n": 3}},
        {"inner": {"leaf": {"n": "not-an-int"}}},
    ),
    (
        containers,
        {
            "many": [{"leaf": {"n": 1}}],
            "named": {"k": {"n": 1}},
            "box": {"inner": {"leaf": {"n": 1}}},
            "bag": {"leaf": {"n": 1}},
            "plain": {"inner": {"leaf": {"n": 1}}},
        },
        {
            "many": [{"leaf": {"n": 1}}],
            "named": {"k": {"n": 1}},
            "box": {"inner": {"leaf": {"n": 1}}},
            "bag": {"leaf": {"n": 1}},
            "plain": {"inner": {"leaf": {"n": "x"}}},
        },
    ),
    (
        recursive,
        {"tree": {"label": "a", "kids": [{"label": "b", "kids": [{"label": "c"}]}]}},
        {"tree": {"label": "a", "kids": [{"label": "b", "kids": [{"label": 3}]}]}},
    ),
    (
        clash,
        {"a": {"leaf": {"value": 1}}, "b": {"leaf": {"value": "s"}}, "c": {"n": 1}},
        {"a": {"leaf": {"value": 1}}, "b": {"leaf": {"value": 1}}, "c": {"n": 1}},
    ),
]


@pytest.mark.parametrize(("handler", "good", "bad"), SAMPLES,
                         ids=[sample[0].__name__ for sample in SAMPLES])
def test_input_schema_is_self_contained(handler: Any, good: dict[str, Any],
                                        bad: dict[str, Any]) -> None:
    skill = build_skill(handler.__name__, handler)
    schema = skill.input_schema
    assert schema is not None
    _assert_self_contained(schema)
    standard = Draft202012Validator(schema)
    assert list(standard.iter_errors(good)) == []
    assert list(standard.iter_errors(bad)) != []
    assert skill.arguments_validator is not None
    assert skill.arguments_validator.problems(good) == []
    assert skill.arguments_validator.problems(bad) != []


def test_output_schema_is_self_contained() -> None:
    for handler in (nested, recursive):
        schema = build_skill(handler.__name__, handler).output_schema
        assert schema is not None
        _assert_self_contained(schema)


def test_clashing_names_get_their_own_definitions() -> None:
    schema = build_skill("clash", clash).input_schema
    assert schema is not None
    defs = schema["$defs"]
    assert sorted(defs) == ["Leaf", "Leaf_2"]  # `c: Leaf` is a root model: inlined
    a_ref = schema["properties"]["a"]["properties"]["leaf"]["$ref"]
    b_ref = schema["properties"]["b"]["properties"]["leaf"]["$ref"]
    assert a_ref != b_ref
    assert defs[a_ref.rsplit("/", 1)[1]]["properties"]["value"]["type"] == "integer"
    assert defs[b_ref.rsplit("/", 1)[1]]["properties"]["value"]["type"] == "string"


def test_one_model_used_twice_is_defined_once() -> None:
    def twice(first: Inner, second: Inner) -> None:
        raise NotImplementedError

    schema = build_skill("twice", twice).input_schema
    assert schema is not None
    assert list(schema["$defs"]) == ["Leaf"]
    _assert_self_contained(schema)


def test_nested_field_error_names_its_path() -> None:
    skill = build_skill("nested", nested)
    assert skill.arguments_validator is not None
    assert skill.arguments_validator.problems({"inner": {"leaf": {"n": "not-an-int"}}}) == [
        "$.inner.leaf.n: expected an integer, got a string"
    ]


def test_a_rename_carries_to_the_definitions_that_refer_to_it() -> None:
    # Both `Leaf`s read alike, but their `Sub`s differ: the second `Leaf` must be renamed too.
    root: dict[str, Any] = {}
    first = {"$defs": {"Sub": {"type": "integer"},
                       "Leaf": {"properties": {"s": {"$ref": "#/$defs/Sub"}}}},
             "properties": {"l": {"$ref": "#/$defs/Leaf"}}}
    second = {"$defs": {"Sub": {"type": "string"},
                        "Leaf": {"properties": {"s": {"$ref": "#/$defs/Sub"}}}},
              "properties": {"l": {"$ref": "#/$defs/Leaf"}}}
    assert hoist_definitions(first, root) == {"properties": {"l": {"$ref": "#/$defs/Leaf"}}}
    assert hoist_definitions(second, root) == {"properties": {"l": {"$ref": "#/$defs/Leaf_2"}}}
    assert root["Leaf_2"] == {"properties": {"s": {"$ref": "#/$defs/Sub_2"}}}
    assert root["Sub_2"] == {"type": "string"} and root["Sub"] == {"type": "integer"}
