"""Compiled argument validators are shared between equal schemas, never between a schema
and a later mutation of it (`validation._compiled_once`)."""

from __future__ import annotations

import copy

from teammesh.client.remote_skills.validation import ArgumentsValidator, validator_for

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def test_equal_schemas_share_one_compiled_validator() -> None:
    first = ArgumentsValidator(copy.deepcopy(SCHEMA))
    second = ArgumentsValidator(copy.deepcopy(SCHEMA))
    assert first._validator is second._validator  # compiled once
    assert first.problem({"n": "x"}) == second.problem({"n": "x"}) is not None


def test_a_mutated_schema_changes_nothing_shared() -> None:
    mine = copy.deepcopy(SCHEMA)
    compiled = ArgumentsValidator(mine)
    other = ArgumentsValidator(copy.deepcopy(SCHEMA))
    mine["properties"]["n"]["type"] = "string"  # the caller edits its dict afterwards
    assert other.problem({"n": 1}) is None  # the shared validator did not follow the edit
    assert compiled.problem({"n": 1}) is None  # still the schema as registered
    # A skill whose schema is replaced is compiled anew against the new one.
    replaced = validator_for({"type": "object", "properties": {"n": {"type": "string"}}},
                             compiled)
    assert replaced is not None and replaced.problem({"n": 1}) is not None


def test_a_schema_that_is_not_json_text_is_still_compiled() -> None:
    odd = {"type": "object", "properties": {"n": {"type": "integer"}}, 1: "x"}
    try:
        validator = ArgumentsValidator(odd)  # type: ignore[arg-type]
    except Exception as exc:  # refused like any invalid schema, never a crash elsewhere
        assert type(exc).__name__ == "InvalidInputSchema"
    else:
        assert validator.problem({"n": "x"}) is not None
