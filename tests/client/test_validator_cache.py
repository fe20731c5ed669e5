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


def test_remembered_verdicts_are_per_exact_json_value() -> None:
    """Small argument objects seen before are answered from memory; values that print alike
    in Python but differ in JSON (True vs 1, 1.5 vs "1.5") or that are not plain JSON (a
    tuple) never share a verdict."""
    validator = ArgumentsValidator(copy.deepcopy(SCHEMA))
    for _ in range(2):  # the second round is answered from memory
        assert validator.problem({"n": 1}) is None
        assert validator.problem({"n": True}) is not None  # a boolean is no integer
        assert validator.problem({"n": 1.5}) is not None
        assert validator.problem({"n": "1"}) is not None
        assert validator.problem({}) is not None  # required
    listed = validator.problems({"n": "x"})
    listed.append("edited by the caller")
    assert validator.problems({"n": "x"}) == listed[:-1]  # the caller's list is its own
    array = ArgumentsValidator({"type": "array"})
    assert array.problem([1]) is None
    assert array.problem((1,)) == ArgumentsValidator({"type": "array"}).problem((1,))
    assert (1,).__class__ is tuple and array._known.keys() == {"[1]"}  # the tuple: not kept
