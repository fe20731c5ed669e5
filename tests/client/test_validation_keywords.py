"""Keywords the hand-written validator ignored, now checked by jsonschema (Draft 2020-12),
with our `$.path: reason` messages; compiled once per skill at registration."""

from __future__ import annotations

from typing import Any

import pytest

from teammesh.client import AsyncCodexManager
from teammesh.client.remote_skills.registry import build_skill
from teammesh.client.remote_skills.validation import (
    MAX_LISTED,
    MAX_NESTING,
    ArgumentsValidator,
    InvalidInputSchema,
    validation_error,
)

NESTED = {
    "type": "object",
    "properties": {"inner": {"$ref": "#/$defs/Inner"}},
    "$defs": {
        "Inner": {
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        }
    },
}
IF_THEN_ELSE = {
    "type": "object",
    "if": {"properties": {"kind": {"const": "count"}}},
    "then": {"properties": {"n": {"type": "integer"}}},
    "else": {"required": ["text"]},
}


@pytest.mark.parametrize(
    ("schema", "good", "bad", "error"),
    [
        (NESTED, {"inner": {"n": 1}}, {"inner": {"n": "not-an-int"}},
         "$.inner.n: expected an integer, got a string"),
        (NESTED, {"inner": {"n": 1}}, {"inner": {}}, "$.inner: missing required property 'n'"),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
            [1, "a"],
            [1, 2],
            "$[1]: expected a string, got an integer",
        ),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}], "items": False},
            [1],
            [1, 2],
            "$: must have at most 1 items",
        ),
        ({"not": {"type": "integer"}}, "x", 3, '$: must not match {"type": "integer"}'),
        ({"uniqueItems": True}, [1, 2], [1, 1], "$: must not contain duplicate items"),
        ({"uniqueItems": True}, [1, True], [{"a": 1}, {"a": 1}],
         "$: must not contain duplicate items"),
        ({"multipleOf": 5}, 10, 7, "$: must be a multiple of 5, got 7"),
        (
            {
                "type": "object",
                "patternProperties": {"^x_": {"type": "string"}},
                "additionalProperties": False,
            },
            {"x_a": "s"},
            {"x_a": 1},
            "$.x_a: expected a string, got an integer",
        ),
        (
            {"type": "object", "patternProperties": {"^x_": {}}, "additionalProperties": False},
            {"x_a": 1},
            {"y": 1},
            "$: unexpected property 'y' (allowed: none; or names matching '^x_')",
        ),
        (IF_THEN_ELSE, {"kind": "count", "n": 2}, {"kind": "count", "n": "two"},
         "$.n: expected an integer, got a string"),
        (IF_THEN_ELSE, {"kind": "say", "text": "hi"}, {"kind": "say"},
         "$: missing required property 'text'"),
        ({"type": "string", "format": "email"}, "a@b.example", "nope",
         "$: must be a valid email"),
        ({"type": "string", "format": "date"}, "2026-12-01", "2026-13-01",
         "$: must be a valid date"),
        ({"type": "string", "format": "ipv4"}, "127.0.0.1", "127.0.0.256",
         "$: must be a valid ipv4"),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1.5, 2,
         "$: must match exactly one allowed shape (matched 2)"),
    ],
)
def test_keyword(schema: dict[str, Any], good: Any, bad: Any, error: str) -> None:
    validator = ArgumentsValidator(schema)
    assert validator.problems(good) == []
    assert validator.problems(bad) == [error]
    assert validation_error(bad, schema) == error


def test_deep_nesting_is_refused_unread() -> None:
    # A recursive schema (as a self-referencing pydantic model gives) and a value nested far
    # deeper than any call needs: refused with a reason, the stack never exhausted.
    children = {"type": "array", "items": {"$ref": "#/$defs/T"}}
    tree = {"$defs": {"T": {"type": "object", "properties": {"k": children}}},
            "$ref": "#/$defs/T"}
    validator = ArgumentsValidator(tree)

    def nested(levels: int) -> dict[str, Any]:
        root: dict[str, Any] = {}
        node = root
        for _ in range(levels):
            child: dict[str, Any] = {}
            node["k"] = [child]
            node = child
        node["k"] = "bad"
        return root

    shallow = validator.problems(nested(20))
    assert shallow == ["$" + ".k[0]" * 20 + ".k: expected an array, got a string"]
    for levels in (40, 5000):
        assert validator.problems(nested(levels)) == [
            f"$: nested deeper than {MAX_NESTING} arrays or objects"
        ]


def test_one_answer_names_at_most_twenty_problems() -> None:
    validator = ArgumentsValidator({"items": {"type": "integer"}})
    assert len(validator.problems(["x"] * 25)) == 25
    line = validator.problem(["x"] * 25)
    assert line is not None
    assert line.count("expected an integer") == MAX_LISTED
    assert line.endswith("$[19]: expected an integer, got a string; and 5 more")


def test_false_schema_refuses() -> None:
    # jsonschema drops the path of a `false` subschema's error, so only the reason is ours.
    validator = ArgumentsValidator({"type": "object", "properties": {"a": False}})
    assert validator.problems({}) == []
    assert [p.split(": ", 1)[1] for p in validator.problems({"a": 1})] == ["is not allowed"]


def test_all_problems_at_once_in_a_fixed_order() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"items": {"type": "integer"}}}},
            "z": {"type": "string", "enum": ["x"]},
            "n": {"type": "integer", "minimum": 1},
        },
        "required": ["q", "p"],
        "additionalProperties": False,
    }
    value = {"z": 1, "a": {"b": [1, {"c": 2}, "s"]}, "n": 0, "extra": True}
    expected = [
        "$: missing required property 'p'",
        "$: missing required property 'q'",
        "$: unexpected property 'extra' (allowed: a, n, z)",
        "$.a.b[1]: expected an integer, got an object",
        "$.a.b[2]: expected an integer, got a string",
        "$.n: must be >= 1, got 0",
        "$.z: expected a string, got an integer",
        "$.z: must be one of 'x'",
    ]
    validator = ArgumentsValidator(schema)
    assert validator.problems(value) == expected
    assert validator.problems(dict(reversed(value.items()))) == expected
    assert validator.problem(value) == "; ".join(expected)


def test_items_sort_by_index_not_by_text() -> None:
    problems = ArgumentsValidator({"items": {"type": "integer"}}).problems(["x"] * 11)
    assert problems[:3] == [f"$[{i}]: expected an integer, got a string" for i in (0, 1, 2)]
    assert problems[-1] == "$[10]: expected an integer, got a string"


def test_nullable_lets_null_through_every_keyword() -> None:
    schema = {"type": "string", "enum": ["a"], "minLength": 1, "nullable": True}
    assert validation_error(None, schema) is None
    assert validation_error("b", schema) == "$: must be one of 'a'"
    ref = {"properties": {"x": {"$ref": "#/$defs/X", "nullable": True}},
           "$defs": {"X": {"type": "integer"}}}
    assert validation_error({"x": None}, ref) is None
    assert validation_error({"x": "s"}, ref) == "$.x: expected an integer, got a string"


def test_numbers_are_json_numbers() -> None:
    # Refused before any keyword (also where no `type` would catch it: `minimum` lets NaN by).
    assert validation_error(float("nan"), {"type": "number"}) == (
        "$: holds NaN or infinity (not JSON numbers)"
    )
    assert validation_error(2.0, {"type": "integer"}) is None
    assert validation_error(True, {"type": "integer"}) == (
        "$: expected an integer, got a boolean"
    )


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"type": "object", "properties": {"x": {"$ref": "#/$defs/Missing"}}},
         "$ref '#/$defs/Missing' does not resolve inside the schema"),
        ({"$ref": "https://example.com/remote.json"},
         "$ref 'https://example.com/remote.json' does not resolve inside the schema"),
        ({"type": "string", "pattern": "("}, "not a Draft 2020-12 schema at pattern"),
        ({"type": "array", "items": [{"type": "string"}]}, "not a Draft 2020-12 schema at items"),
        ({"type": "strange"}, "not a Draft 2020-12 schema at type"),
    ],
)
def test_unusable_schemas_are_refused_at_registration(schema: dict[str, Any], reason: str
                                                      ) -> None:
    with pytest.raises(InvalidInputSchema, match=r"^remote skill s input schema: ") as caught:
        build_skill("s", lambda **kw: kw, input_schema=schema)
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_compiled_once_at_registration() -> None:
    skill = build_skill("s", lambda **kw: kw, input_schema=NESTED)
    assert skill.arguments_validator is not None
    assert skill.arguments_validator.schema is skill.input_schema


@pytest.mark.anyio
async def test_nested_model_arguments_are_refused_before_the_handler() -> None:
    calls: list[Any] = []
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        draft = cm.remote_skills.new_draft()

        @draft.skill(input_schema=NESTED)
        def nested(inner: dict[str, Any]) -> str:
            calls.append(inner)
            return "ok"

        bad = await draft.dispatch_tool_call(
            tool="nested", arguments={"inner": {"n": "not-an-int"}}
        )
        assert (bad.handled, bad.error) == (
            False, "invalid arguments: $.inner.n: expected an integer, got a string"
        )
        # A schema replaced on a registered skill is checked as it now reads.
        draft.registry.skills["nested"].input_schema = {
            "type": "object", "properties": {"inner": {"type": "string"}}
        }
        replaced = await draft.dispatch_tool_call(tool="nested", arguments={"inner": {"n": 1}})
        assert replaced.error == "invalid arguments: $.inner: expected a string, got an object"
        good = await draft.dispatch_tool_call(tool="nested", arguments={"inner": "x"})
        assert good.handled is True
        assert calls == ["x"]
