"""The five team_* tool schemas as team-mesh.md S5 gives them (the mesh generates the real
ones); `owner` is an enum of the member's allowed handoff targets."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from teammesh.brain.playbook import decide
from teammesh.brain.types import (
    Action,
    ConversationItem,
    ToolCall,
    ToolOutput,
    ToolSpec,
    UserMessage,
)

ROSTER = ("developer", "docs", "reviewer")


def team_tools(owners: Sequence[str] = ROSTER) -> list[ToolSpec]:
    return [
        ToolSpec(
            "team_pull_work",
            "Claim the next task queued for you.",
            {"type": "object", "properties": {}, "additionalProperties": False},
        ),
        ToolSpec(
            "team_queue_work",
            "Queue a task for another member.",
            {
                "type": "object",
                "properties": {
                    "owner": {"type": "string", "enum": list(owners)},
                    "task": {"type": "string", "minLength": 1},
                },
                "required": ["owner", "task"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            "team_publish_artifact",
            "Publish an artifact to the board.",
            {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "minLength": 1},
                    "summary": {"type": "string", "minLength": 1},
                },
                "required": ["kind", "summary"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            "team_read_board",
            "Read the team board.",
            {
                "type": "object",
                "properties": {
                    "limit": {"type": "integer", "minimum": 1, "maximum": 25, "default": 8}
                },
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            "team_mark_done",
            "Mark yourself done.",
            {
                "type": "object",
                "properties": {"note": {"type": "string", "default": ""}},
                "additionalProperties": False,
            },
        ),
    ]


Responder = Callable[[ToolCall], tuple[str, bool]]


def spec_responder(task: str | None) -> Responder:
    """Spec-shaped results (S5) for one member's turn."""

    def respond(call: ToolCall) -> tuple[str, bool]:
        args = call.arguments
        if call.name == "team_pull_work":
            return json.dumps({"task": task, "queueDepth": 0}), True
        if call.name == "team_queue_work":
            return json.dumps(
                {"queuedFor": args["owner"], "queuedBy": "me", "queueDepth": 1,
                 "task": args["task"], "queued": True}
            ), True
        if call.name == "team_publish_artifact":
            return json.dumps(
                {"artifactCount": 1,
                 "artifact": {"member": "me", "kind": args["kind"], "summary": args["summary"]}}
            ), True
        if call.name == "team_read_board":
            return json.dumps(
                {"queueDepths": {"developer": 0, "docs": 0, "reviewer": 0},
                 "completed": [], "recentArtifacts": []}
            ), True
        if call.name == "team_mark_done":
            return json.dumps({"completed": ["me"]}), True
        return "unknown tool", False

    return respond


def run_turn(
    prompt: str, tools: Sequence[ToolSpec], respond: Responder, limit: int = 20
) -> tuple[list[ToolCall], str, list[ConversationItem]]:
    """Drive `decide` to the end of a turn, answering every call with `respond`."""
    conversation: list[ConversationItem] = [UserMessage(prompt)]
    calls: list[ToolCall] = []
    for _ in range(limit):
        action: Action = decide(conversation, tools)
        if action.is_final:
            assert action.message is not None
            return calls, action.message, conversation
        for call in action.tool_calls:
            calls.append(call)
            text, success = respond(call)
            conversation.extend([call, ToolOutput(call.call_id, text, success)])
    raise AssertionError(f"no final message after {limit} steps: {[c.name for c in calls]}")


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """A small JSON-schema check covering what the team_* schemas use."""
    errors: list[str] = []
    kind = schema.get("type")
    types = {"object": dict, "string": str, "integer": int, "boolean": bool, "array": list}
    if isinstance(kind, str) and kind in types:
        if not isinstance(value, types[kind]) or (kind == "integer" and isinstance(value, bool)):
            return [f"{path}: expected {kind}, got {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: shorter than minLength")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than maxLength")
        if not value.strip() and schema.get("minLength", 0) > 0:
            errors.append(f"{path}: blank")
    if isinstance(value, int) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: below minimum")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: above maximum")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}: missing {name}")
        for name, item in value.items():
            if name in properties:
                errors.extend(schema_errors(item, properties[name], f"{path}.{name}"))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected {name}")
    return errors
