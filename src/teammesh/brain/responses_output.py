"""The brain's action → an OpenAI Responses API response, as JSON or as SSE frames.

The SSE sequence is the one codex accepted in `shared/reference/codex-samples/sse_*.txt`:
`response.created`, then per output item `response.output_item.added`, zero or more
`response.output_text.delta` (messages only), `response.output_item.done`, and finally
`response.completed` carrying usage. Every frame is `event: <type>\\ndata: <json>\\n\\n`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from teammesh.brain.types import Action

JsonObject = dict[str, Any]


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def output_items(action: Action, namespaces: dict[str, str]) -> list[JsonObject]:
    """The completed output items of a response."""
    items: list[JsonObject] = []
    for call in action.tool_calls:
        item: JsonObject = {
            "type": "function_call",
            "id": f"fc_{call.call_id.removeprefix('call_')}",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": json.dumps(call.arguments),
            "status": "completed",
        }
        if call.name in namespaces:
            item["namespace"] = namespaces[call.name]
        items.append(item)
    if action.message is not None:
        items.append(
            {
                "type": "message",
                "id": _new_id("msg"),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": action.message, "annotations": []}],
            }
        )
    return items


def _in_progress(item: JsonObject) -> JsonObject:
    if item["type"] == "function_call":
        return {**item, "arguments": "", "status": "in_progress"}
    return {**item, "status": "in_progress", "content": []}


def usage(input_chars: int, output_chars: int) -> JsonObject:
    # A rough, deterministic token estimate (4 characters per token) so clients that
    # account usage (codex's `thread/tokenUsage/updated`) see plausible numbers.
    input_tokens = max(1, input_chars // 4)
    output_tokens = max(1, output_chars // 4)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def response_object(
    response_id: str,
    model: str,
    status: str,
    output: list[JsonObject],
    usage_block: JsonObject | None,
    created_at: int,
) -> JsonObject:
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "model": model,
        "output": output,
        "usage": usage_block,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "store": False,
    }


def new_response_id() -> str:
    return _new_id("resp")


def text_chunks(text: str, size: int = 24) -> list[str]:
    """Split a message into deltas at word boundaries (about `size` characters each)."""
    chunks: list[str] = []
    current = ""
    for word in text.split(" "):
        piece = word if not current else " " + word
        if current and len(current) + len(piece) > size:
            chunks.append(current)
            current = " " + word
        else:
            current += piece
    if current:
        chunks.append(current)
    return chunks


def sse_frame(event: JsonObject) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def sse_events(
    response_id: str,
    model: str,
    items: list[JsonObject],
    usage_block: JsonObject,
    created_at: int | None = None,
) -> Iterator[JsonObject]:
    created = created_at if created_at is not None else int(time.time())
    sequence = 0

    def event(kind: str, **fields: Any) -> JsonObject:
        nonlocal sequence
        frame = {**fields, "type": kind, "sequence_number": sequence}
        sequence += 1
        return frame

    yield event(
        "response.created",
        response=response_object(response_id, model, "in_progress", [], None, created),
    )
    for index, item in enumerate(items):
        yield event("response.output_item.added", output_index=index, item=_in_progress(item))
        if item["type"] == "message":
            text = item["content"][0]["text"]
            for delta in text_chunks(text):
                yield event(
                    "response.output_text.delta",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    delta=delta,
                    logprobs=[],
                )
        yield event("response.output_item.done", output_index=index, item=item)
    yield event(
        "response.completed",
        response=response_object(response_id, model, "completed", items, usage_block, created),
    )
