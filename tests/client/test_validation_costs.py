"""An agent's crafted arguments cannot stall the dispatcher: combinator explosions, regex
backtracking, quadratic uniqueItems, reference loops and RecursionErrors all end in a
`$: reason` refusal (or a refused schema at registration), never a hang or an exception."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from teammesh.client import (
    AppServerSignal,
    AsyncCodexManager,
    AsyncRemoteSkillSession,
    StreamContext,
)
from teammesh.client.remote_skills.validation import (
    ArgumentsValidator,
    InvalidInputSchema,
    validation_error,
)
from teammesh.gateway.embedded import GatewayThread

from .conftest import steps_prompt

# Every level tried against both branches: 2**depth keyword runs without a budget.
EXPLODING = {"oneOf": [{"type": "array", "items": {"$ref": "#"}},
                       {"type": "array", "items": {"$ref": "#"}, "minItems": 0}]}
# Backtracks for minutes on Python's `re` (and past the allowance on `regex`).
SLOW_PATTERN = "(a|aa)+$"
SLOW_TEXT = "a" * 40 + "b"


def _nested_list(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_combinator_explosion_is_refused_as_too_costly() -> None:
    problem = validation_error(_nested_list(30), EXPLODING)
    assert problem is not None
    assert problem.startswith("$: too costly to check (more than ")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": SLOW_PATTERN},
        {"type": "object", "patternProperties": {SLOW_PATTERN: {}}},
        {"type": "object", "patternProperties": {SLOW_PATTERN: {}},
         "additionalProperties": False},
        {"type": "object", "patternProperties": {SLOW_PATTERN: {}},
         "additionalProperties": {"type": "string"}},
    ],
)
def test_a_backtracking_pattern_is_cut_off(schema: dict[str, Any]) -> None:
    value: Any = SLOW_TEXT if schema["type"] == "string" else {SLOW_TEXT: 1}
    problem = validation_error(value, schema)
    assert problem is not None
    assert "too costly to check (pattern '(a|aa)+$' took more than" in problem


def test_patterns_still_match_as_before() -> None:
    schema = {"type": "object", "patternProperties": {"^x-": {"type": "integer"}},
              "additionalProperties": False, "properties": {"name": {"pattern": "^[a-z]+$"}}}
    assert validation_error({"name": "ok", "x-a": 1}, schema) is None
    assert validation_error({"name": "No", "x-a": "1", "y": 2}, schema) == (
        "$: unexpected property 'y' (allowed: name; or names matching '^x-'); "
        "$.name: must match pattern '^[a-z]+$'; $.x-a: expected an integer, got a string")


def test_unique_items_of_many_objects_is_linear_and_exact() -> None:
    schema = {"type": "array", "uniqueItems": True}
    assert validation_error([{"a": i, "b": [i]} for i in range(50_000)], schema) is None
    assert validation_error([{"a": 1, "b": 2}, {"b": 2, "a": 1.0}], schema) == (
        "$: must not contain duplicate items")
    assert validation_error([1, True, [0], [False], {"a": None}], schema) is None


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
        {"allOf": [{"$ref": "#"}]},
    ],
)
def test_a_reference_loop_is_refused_at_registration(schema: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputSchema, match="references loop without end"):
        ArgumentsValidator(schema)


def test_a_loop_reached_only_by_one_value_is_refused_for_that_value() -> None:
    schema = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
              "properties": {"x": {"$ref": "#/$defs/a"}}}
    validator = ArgumentsValidator(schema)
    assert validator.problem({"y": 1}) is None
    assert validator.problem({"x": 1}) == (
        "$: nested too deeply to check against this schema (a $ref cycle, or references"
        " many levels deep for each level of the value)")


def test_a_regex_format_value_that_exhausts_the_stack_is_invalid() -> None:
    assert validation_error("(" * 5000, {"type": "string", "format": "regex"}) == (
        "$: must be a valid regex")
    assert validation_error("^a+$", {"type": "string", "format": "regex"}) is None


@pytest.mark.anyio
async def test_the_dispatcher_refuses_and_keeps_serving() -> None:
    calls: list[Any] = []
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        draft = cm.remote_skills.new_draft()

        tree = {"oneOf": [{"type": "array", "items": {"$ref": "#/$defs/tree"}},
                          {"type": "array", "items": {"$ref": "#/$defs/tree"}, "minItems": 0}]}

        @draft.skill(input_schema={"type": "object", "$defs": {"tree": tree}, "properties": {
            "tree": {"$ref": "#/$defs/tree"},
            "name": {"type": "string", "pattern": SLOW_PATTERN}}})
        def plant(**arguments: Any) -> dict[str, Any]:
            calls.append(arguments)
            return {"planted": True}

        for arguments in ({"tree": _nested_list(30)}, {"name": SLOW_TEXT}):
            bad = await draft.dispatch_tool_call(tool="plant", arguments=arguments)
            assert bad.handled is False
            assert bad.response_payload is not None
            assert bad.response_payload["success"] is False
            assert "invalid arguments: $: too costly to check" in str(bad.error)
        # A short tree is refused by its reason (the inner [] matches both shapes).
        short = await draft.dispatch_tool_call(tool="plant", arguments={"tree": [[]]})
        assert short.error == "invalid arguments: $.tree: must match exactly one allowed shape" \
            " (matched 0)"
        good = await draft.dispatch_tool_call(tool="plant", arguments={"name": "aa"})
        assert good.handled is True
        assert calls == [{"name": "aa"}]


def test_a_long_reference_chain_per_level_is_refused_not_raised() -> None:
    """Under the nesting limit, each level of the value may still cost many frames (here 20
    references per level): the stack runs out inside jsonschema, the call is refused."""
    chain = {f"n{i}": {"allOf": [{"$ref": f"#/$defs/n{i + 1}"}]} for i in range(20)}
    chain["n20"] = {"type": "object", "properties": {"a": {"$ref": "#/$defs/n0"}}}
    value: Any = {}
    for _ in range(63):
        value = {"a": value}
    validator = ArgumentsValidator({"$defs": chain, "$ref": "#/$defs/n0"})
    assert validator.problem({"a": {"a": {}}}) is None
    assert validator.problem(value) == (
        "$: nested too deeply to check against this schema (a $ref cycle, or references"
        " many levels deep for each level of the value)")


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused_wherever_they_are(number: float) -> None:
    schema = {"type": "object", "properties": {"n": {"minimum": 0}, "rest": {}}}
    assert validation_error({"n": number}, schema) == (
        "$: holds NaN or infinity (not JSON numbers)")
    assert validation_error({"rest": [{"deep": [number]}]}, schema) == (
        "$: holds NaN or infinity (not JSON numbers)")
    assert validation_error({"n": 1e308, "rest": [0.5]}, schema) is None


@pytest.mark.anyio
async def test_a_crafted_call_through_the_gateway_is_answered_and_the_next_one_runs(
    gateway: GatewayThread,
) -> None:
    """The whole path: the playbook agent calls a skill with a backtracking value over the
    real gateway; the answer is `success: false` with the reason, the turn goes on, and the
    next (honest) call reaches the handler."""
    runs: list[str] = []
    dispatched: list[Any] = []

    def register(skills: AsyncRemoteSkillSession) -> None:
        @skills.skill(description="Greet someone.")
        def greet(name: str) -> str:
            runs.append(name)
            return f"hi {name}"

        skills.registry.skills["greet"].input_schema = {
            "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "pattern": SLOW_PATTERN}}}

    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        _, skills = await cm.remote_skills.create_session(register=register)

        @cm.on_app_server_request("item.tool.call")
        async def on_call(signal: AppServerSignal, ctx: StreamContext) -> None:
            dispatched.append(await skills.respond_to_signal(signal))

        stop = asyncio.Event()
        task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        try:
            async with asyncio.timeout(10):
                while not cm.turns.covers(skills.session_id):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            accepted = await skills.send(
                steps_prompt([("greet", {"name": SLOW_TEXT}), ("greet", {"name": "aa"})]),
                inject_skills=False)
            await cm.wait.assistant_reply(session_id=skills.session_id,
                                          turn_id=accepted["turnId"], timeout_seconds=30)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    assert [(d.handled, d.submission_status) for d in dispatched] == [(False, "ok"), (True, "ok")]
    assert dispatched[0].response_payload["success"] is False
    assert "invalid arguments: $: too costly to check (pattern" in dispatched[0].error
    assert runs == ["aa"]
