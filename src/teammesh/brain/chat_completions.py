"""The same brain behind OpenAI Chat Completions (`POST /v1/chat/completions`).

Not needed by codex (Responses only), but most OpenAI-compatible servers (Ollama, vLLM, ...)
speak Chat Completions, so the llm runtime's path to them is tested offline against this.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from teammesh.brain.responses_input import (
    BadRequest,
    ParsedRequest,
    call_arguments,
    content_text,
    message_item,
)
from teammesh.brain.responses_output import text_chunks
from teammesh.brain.types import (
    Action,
    ConversationItem,
    ToolCall,
    ToolOutput,
    ToolSpec,
)

JsonObject = dict[str, Any]


def _conversation(messages: list[Any]) -> list[ConversationItem]:
    items: list[ConversationItem] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if (text_item := message_item(role, message.get("content"))) is not None:
            items.append(text_item)
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    items.append(ToolCall(str(call.get("id", "")), str(function.get("name", "")),
                                          call_arguments(function.get("arguments"))))
        elif role == "tool":
            items.append(ToolOutput(str(message.get("tool_call_id", "")),
                                    content_text(message.get("content"), drop_wrappers=False)))
        # system / developer: the harness's instructions, not for the brain
    return items


def _tools(raw: Any) -> list[ToolSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("`tools` must be a list")
    tools: list[ToolSpec] = []
    for tool in raw:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        schema = function.get("parameters")
        description = function.get("description")
        tools.append(ToolSpec(
            function["name"],
            description if isinstance(description, str) else "",
            schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
        ))
    return tools


def parse_chat_request(body: Any) -> ParsedRequest:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise BadRequest("`messages` must be a list")
    model = body.get("model")
    return ParsedRequest(
        model=model if isinstance(model, str) and model else "playbook",
        stream=body.get("stream") is True,
        conversation=_conversation(messages),
        tools=_tools(body.get("tools")),
    )


def _tool_calls(action: Action) -> list[JsonObject]:
    return [
        {"id": call.call_id, "type": "function",
         "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
        for call in action.tool_calls
    ]


def _usage(input_chars: int, output_chars: int) -> JsonObject:
    prompt, completion = max(1, input_chars // 4), max(1, output_chars // 4)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def chat_completion(action: Action, model: str, input_chars: int) -> JsonObject:
    calls = _tool_calls(action)
    message: JsonObject = {"role": "assistant", "content": action.message}
    if calls:
        message["tool_calls"] = calls
    output_chars = len(json.dumps(message))
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": _usage(input_chars, output_chars),
    }


def chat_chunks(action: Action, model: str, input_chars: int,
                include_usage: bool) -> Iterator[bytes]:
    """The streamed form: `data: <chunk>` frames, then `data: [DONE]`."""
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def chunk(delta: JsonObject, finish: str | None = None) -> bytes:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None,
                             "finish_reason": finish}]}
        return f"data: {json.dumps(body)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    for piece in text_chunks(action.message or ""):
        yield chunk({"content": piece})
    calls = _tool_calls(action)
    for index, call in enumerate(calls):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, "tool_calls" if calls else "stop")
    if include_usage:
        usage = _usage(input_chars, len(json.dumps(calls)) + len(action.message or ""))
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [], "usage": usage}
        yield f"data: {json.dumps(body)}\n\n".encode()
    yield b"data: [DONE]\n\n"
