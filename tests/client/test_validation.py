"""Argument validation (before the handler runs) and handler invocation, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from teammesh.client import AsyncCodexManager, SkillContext, current_call
from teammesh.client.remote_skills.validation import validation_error

QUEUE = {
    "type": "object",
    "properties": {
        "owner": {"type": "string", "enum": ["developer", "docs", "reviewer"]},
        "task": {"type": "string", "minLength": 1, "maxLength": 10},
        "limit": {"type": "integer", "minimum": 1, "maximum": 25},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "ratio": {"type": "number", "exclusiveMaximum": 1},
        "maybe": {"type": "string", "nullable": True},
    },
    "required": ["owner", "task"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ({"owner": "docs", "task": "t"}, None),
        ({"owner": "docs", "task": "t", "limit": 25, "tags": ["a"], "ratio": 0.5}, None),
        ({"owner": "docs", "task": "t", "limit": 2.0, "maybe": None}, None),
        ({"task": "t"}, "$: missing required property 'owner'"),
        ({"owner": "qa", "task": "t"}, "$.owner: must be one of 'developer', 'docs', 'reviewer'"),
        ({"owner": "docs", "task": ""}, "$.task: must be at least 1 characters long"),
        ({"owner": "docs", "task": "x" * 11}, "$.task: must be at most 10 characters long"),
        ({"owner": "docs", "task": 3}, "$.task: expected a string, got an integer"),
        ({"owner": "docs", "task": "t", "limit": 0}, "$.limit: must be >= 1, got 0"),
        ({"owner": "docs", "task": "t", "limit": 26}, "$.limit: must be <= 25, got 26"),
        (
            {"owner": "docs", "task": "t", "limit": True},
            "$.limit: expected an integer, got a boolean",
        ),
        (
            {"owner": "docs", "task": "t", "tags": ["a", 1]},
            "$.tags[1]: expected a string, got an integer",
        ),
        (
            {"owner": "docs", "task": "t", "tags": ["a", "b", "c"]},
            "$.tags: must have at most 2 items",
        ),
        ({"owner": "docs", "task": "t", "ratio": 1}, "$.ratio: must be < 1, got 1"),
        (
            {"owner": "docs", "task": "t", "x": 1},
            "$: unexpected property 'x' (allowed: limit, maybe, owner, ratio, tags, task)",
        ),
        (["docs"], "$: expected an object, got an array"),
    ],
)
def test_validator(value: Any, error: str | None) -> None:
    assert validation_error(value, QUEUE) == error


def test_validator_combinators_and_open_objects() -> None:
    schema = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert validation_error(3, schema) is None
    assert validation_error(1.5, schema) is not None
    assert (
        validation_error({"a": 1}, {"type": "object", "additionalProperties": {"type": "integer"}})
        is None
    )
    assert validation_error(
        {"a": "x"}, {"type": "object", "additionalProperties": {"type": "integer"}}
    ) == ("$.a: expected an integer, got a string")
    assert validation_error("anything", {}) is None
    assert validation_error(True, {"enum": [1]}) is not None


@pytest.mark.anyio
async def test_invalid_arguments_never_reach_the_handler() -> None:
    calls: list[dict[str, Any]] = []
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        draft = cm.remote_skills.new_draft()

        @draft.skill(input_schema=QUEUE)
        def queue(owner: str, task: str, **rest: Any) -> dict[str, Any]:
            calls.append({"owner": owner, "task": task})
            return {"queued": True}

        bad = await draft.dispatch_tool_call(tool="queue", arguments={"owner": "qa", "task": "t"})
        assert calls == []
        assert bad.handled is False
        assert bad.response_payload == {
            "contentItems": [
                {
                    "type": "inputText",
                    "text": "remote skill queue failed: invalid arguments: "
                    "$.owner: must be one of 'developer', 'docs', 'reviewer'",
                }
            ],
            "success": False,
        }
        missing = await draft.dispatch_tool_call(tool="queue", arguments=None)
        # Every problem, not only the first one (sorted: same path, then name order).
        assert missing.error == (
            "invalid arguments: $: missing required property 'owner'; "
            "$: missing required property 'task'"
        )
        good = await draft.dispatch_tool_call(
            tool="queue", arguments={"owner": "docs", "task": "t"}
        )
        assert good.handled is True
        assert good.response_payload == {
            "contentItems": [{"type": "inputText", "text": '{"queued": true}'}],
            "success": True,
        }
        assert calls == [{"owner": "docs", "task": "t"}]


@pytest.mark.anyio
async def test_handler_results_errors_and_context() -> None:
    seen: list[SkillContext | None] = []
    async with AsyncCodexManager(base_url="http://127.0.0.1:9") as cm:
        draft = cm.remote_skills.new_draft()

        @draft.skill()
        async def whoami(ctx: SkillContext) -> str:
            seen.append(ctx)
            with pytest.deprecated_call():  # the old contextvar way still works, and warns
                seen.append(current_call())
            return f"{ctx.tool}:{ctx.request_id}"

        @draft.skill()
        def boom() -> None:
            raise RuntimeError("nope")

        @draft.skill()
        def passthrough() -> dict[str, Any]:
            return {"contentItems": [], "success": False, "extra": 1}

        @draft.skill()
        def nothing() -> None:
            return None

        @draft.skill()
        def positional(value: Any) -> Any:
            return value

        result = await draft.dispatch_tool_call(tool=" whoami ", request_id=42, call_id="c1")
        assert result.result == "whoami:42"
        assert seen[0] is not None and seen[0] == seen[1]
        assert seen[0].call_id == "c1" and seen[0].session_id == "draft"
        with pytest.deprecated_call():
            assert current_call() is None
        assert "whoami" not in str(draft.dynamic_tools()[-1]["inputSchema"].get("properties"))

        failed = await draft.dispatch_tool_call(tool="boom")
        assert (failed.handled, failed.error) == (False, "nope")
        assert failed.response_payload == {
            "contentItems": [{"type": "inputText", "text": "remote skill boom failed: nope"}],
            "success": False,
        }
        unknown = await draft.dispatch_tool_call(tool="ghost")
        assert unknown.error == "no remote skill registered for ghost"
        passed = await draft.dispatch_tool_call(tool="passthrough")
        assert passed.response_payload == {"contentItems": [], "success": False, "extra": 1}
        none = await draft.dispatch_tool_call(tool="nothing")
        assert none.response_payload is not None
        assert none.response_payload["contentItems"][0]["text"] == "null"
        # Non-dict arguments are one positional argument (the schema is not an object here).
        draft.registry.skills["positional"].input_schema = None
        listed = await draft.dispatch_tool_call(tool="positional", arguments=[1, 2])
        assert listed.result == [1, 2]
        with pytest.raises(ValueError):
            await draft.dispatch_tool_call(tool="  ")
