"""OpenAI Responses API request → the brain's conversation and tool catalog.

Tolerant by design: codex sends developer messages, `<environment_context>` user messages,
reasoning items, `namespace` and `web_search` tools, and fields the brain ignores (`include`,
`store`, `reasoning`, `client_metadata`, `prompt_cache_key`, ...). Anything not understood is
skipped rather than refused; only a body that is not a JSON object, or has a non-list `input`
or `tools`, is a bad request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from teammesh.brain.types import (
    AssistantMessage,
    ConversationItem,
    ToolCall,
    ToolOutput,
    ToolSpec,
    UserMessage,
)

# A user message that only carries context codex (or another harness) wraps in a tag, e.g.
# `<environment_context>...</environment_context>`, is not the user's prompt.
_WRAPPED = re.compile(r"\s*<([A-Za-z_][\w-]*)(?:\s[^>]*)?>.*</\1>\s*", re.DOTALL)
_HARNESS_PREFIXES = ("# AGENTS.md instructions",)


class BadRequest(ValueError):
    """The request cannot be read at all (400)."""


@dataclass
class ParsedRequest:
    model: str
    stream: bool
    conversation: list[ConversationItem]
    tools: list[ToolSpec]
    # Tool name → the namespace it was declared in; a call to it must carry the namespace.
    namespaces: dict[str, str] = field(default_factory=dict)


def is_context_wrapper(text: str) -> bool:
    stripped = text.strip()
    return bool(_WRAPPED.fullmatch(stripped)) or stripped.startswith(_HARNESS_PREFIXES)


def content_text(content: Any, *, drop_wrappers: bool) -> str:
    if isinstance(content, str):
        return "" if drop_wrappers and is_context_wrapper(content) else content
    parts: list[str] = []
    if isinstance(content, list):
        for part in content:
            text = part.get("text") if isinstance(part, dict) else None
            if not isinstance(text, str):
                continue
            if drop_wrappers and is_context_wrapper(text):
                continue
            parts.append(text)
    return "\n".join(parts)


def call_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments (an object, or JSON text of one) as a dict; anything else
    is kept under `input` rather than refused."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.strip():
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            return {"input": raw}
        return value if isinstance(value, dict) else {"input": value}
    return {}


def _output_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        return content_text(raw, drop_wrappers=False)
    return "" if raw is None else json.dumps(raw)


def message_item(role: Any, content: Any) -> ConversationItem | None:
    """A user or assistant message as the brain sees it: None for an empty one, a user
    message that only wraps harness context, or any other role (developer / system messages
    are the harness's instructions, not for the brain)."""
    if role == "user":
        text = content_text(content, drop_wrappers=True)
        return UserMessage(text) if text.strip() else None
    if role == "assistant":
        text = content_text(content, drop_wrappers=False)
        return AssistantMessage(text) if text.strip() else None
    return None


def conversation_from_input(raw_input: Any) -> list[ConversationItem]:
    if isinstance(raw_input, str):
        return [UserMessage(raw_input)]
    if not isinstance(raw_input, list):
        raise BadRequest("`input` must be a string or a list of items")
    items: list[ConversationItem] = []
    for item in raw_input:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            message = message_item(item.get("role"), item.get("content"))
            if message is not None:
                items.append(message)
        elif kind in ("function_call", "custom_tool_call"):
            call_id = item.get("call_id") or item.get("id") or ""
            raw_args = item.get("arguments", item.get("input"))
            name = str(item.get("name", ""))
            items.append(ToolCall(str(call_id), name, call_arguments(raw_args)))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = str(item.get("call_id", ""))
            items.append(ToolOutput(call_id, _output_text(item.get("output"))))
        # reasoning, web_search_call, local_shell_call, ...: nothing the brain uses
    return items


def _function_spec(tool: dict[str, Any]) -> ToolSpec | None:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        return None
    schema = tool.get("parameters")
    description = tool.get("description")
    return ToolSpec(
        name,
        description if isinstance(description, str) else "",
        schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
    )


def tools_from_request(raw_tools: Any) -> tuple[list[ToolSpec], dict[str, str]]:
    if raw_tools is None:
        return [], {}
    if not isinstance(raw_tools, list):
        raise BadRequest("`tools` must be a list")
    tools: list[ToolSpec] = []
    namespaces: dict[str, str] = {}
    for tool in raw_tools:
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if kind == "function":
            spec = _function_spec(tool)
            if spec:
                tools.append(spec)
        elif kind == "namespace" and isinstance(tool.get("tools"), list):
            namespace = str(tool.get("name", ""))
            for inner in tool["tools"]:
                if isinstance(inner, dict) and inner.get("type", "function") == "function":
                    spec = _function_spec(inner)
                    if spec:
                        tools.append(spec)
                        namespaces[spec.name] = namespace
        # web_search, custom (freeform) and hosted tools are not callable by the brain
    return tools, namespaces


def parse_request(body: Any) -> ParsedRequest:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    conversation = conversation_from_input(body.get("input", []))
    instructions = body.get("instructions")
    if isinstance(instructions, str) and not any(
        isinstance(item, UserMessage) for item in conversation
    ):
        # No user message at all: the instructions are the only prompt there is.
        conversation.insert(0, UserMessage(instructions))
    tools, namespaces = tools_from_request(body.get("tools"))
    model = body.get("model")
    return ParsedRequest(
        model=model if isinstance(model, str) and model else "playbook",
        stream=body.get("stream") is True,
        conversation=conversation,
        tools=tools,
        namespaces=namespaces,
    )
