"""The codex-shaped events of one turn, for the in-process runtimes (playbook, llm).

Both runtimes must emit exactly what `codex app-server` emits for the same work (shared/
reference/codex-app-server.md §3.3), so the event shapes live here once: `thread/started`;
`turn/started`; the userMessage item; per tool call `item/started` dynamicToolCall → server
request `item/tool/call` → `item/completed` (contentItems, success, durationMs); agentMessage
items with their deltas; `turn/completed {threadId, turn: {id, status, items, error}}`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

from teammesh.gateway.runtimes.base import (
    JsonObject,
    RuntimeFailure,
    RuntimeSink,
    ServerRequestReply,
)


class TurnFailed(Exception):
    """The turn ends `failed` with this message (and codex's `codexErrorInfo` kind, when
    known: see `model_failure`)."""

    def __init__(self, message: str, *, info: object = None, details: str | None = None
                 ) -> None:
        super().__init__(message)
        self.info = info
        self.details = details


def turn_error(message: str, info: object = None, details: str | None = None) -> JsonObject:
    """The `error` of a failed turn, in app-server's shape."""
    return {"message": message, "codexErrorInfo": info, "additionalDetails": details}


def answer_text(reply: ServerRequestReply) -> tuple[str, bool, list[JsonObject] | None]:
    """What the model sees from a tool-call answer (the text of its content items, as codex
    passes only the text), plus the success flag and the items for the dynamicToolCall item."""
    if reply.error is not None:
        return "dynamic tool request failed", False, None
    result = reply.result
    if not isinstance(result, dict):
        return json.dumps(result), True, None
    success = result.get("success")
    ok = success if isinstance(success, bool) else True
    items = result.get("contentItems")
    if isinstance(items, list):
        texts: list[str] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "inputText":
                texts.append(str(item.get("text", "")))
            elif item.get("type") == "inputImage":
                texts.append(f"[image] {item.get('imageUrl', '')}")
        return "\n".join(texts), ok, [i for i in items if isinstance(i, dict)]
    if isinstance(result.get("output"), str):  # the older app-server result shape
        return str(result["output"]), ok, None
    return json.dumps(result), ok, None


def text_deltas(text: str, words_per_delta: int = 6) -> list[str]:
    """A few deltas whose concatenation is the text."""
    words = text.split(" ")
    deltas = []
    for start in range(0, len(words), words_per_delta):
        piece = " ".join(words[start : start + words_per_delta])
        deltas.append(piece + (" " if start + words_per_delta < len(words) else ""))
    return deltas or [""]


def notify_thread_started(
    sink: RuntimeSink, thread_id: str, model_provider: str, cwd: str, created_at: int
) -> None:
    sink.notify(
        "thread/started",
        {
            "thread": {
                "id": thread_id,
                "preview": "",
                "modelProvider": model_provider,
                "createdAt": created_at,
                "updatedAt": created_at,
                "cwd": cwd,
                "source": "appServer",
                "status": {"type": "idle"},
                "turns": [],
            }
        },
    )


class TurnEvents:
    """Emits the events of one turn of one thread to the runtime's sink."""

    def __init__(self, sink: RuntimeSink, thread_id: str, turn_id: str) -> None:
        self.sink = sink
        self.thread_id = thread_id
        self.turn_id = turn_id
        self.base: JsonObject = {"threadId": thread_id, "turnId": turn_id}

    async def run(
        self,
        text: str,
        body: Callable[[], Awaitable[list[JsonObject]]],
        interrupted: Callable[[], bool],
        describe: Callable[[Exception], str],
    ) -> None:
        """The whole turn: `turn/started`, the userMessage, `body` (which returns the turn's
        final items), then `turn/completed` with the status it ended in. A cancellation that
        is not an interrupt (the runtime stopping) propagates and emits nothing more."""
        self._turn("turn/started", "inProgress", [], None)
        status, error, final_items = "completed", None, []
        try:
            self.user_message(text)
            final_items = await body()
        except asyncio.CancelledError:
            if not interrupted():
                raise  # runtime stopping: abandon silently, the hub marks the turn
            status = "interrupted"
        except TurnFailed as exc:
            status, error = "failed", turn_error(str(exc), exc.info, exc.details)
        except Exception as exc:  # a brain or model bug must end the turn, never hang it
            status, error = "failed", turn_error(describe(exc))
        self._turn("turn/completed", status, final_items, error)

    def _turn(
        self, method: str, status: str, items: list[JsonObject], error: JsonObject | None
    ) -> None:
        self.sink.notify(
            method,
            {
                "threadId": self.thread_id,
                "turn": {"id": self.turn_id, "status": status, "items": items, "error": error},
            },
        )

    def user_message(self, text: str) -> None:
        item = {
            "type": "userMessage",
            "id": str(uuid.uuid4()),
            "content": [{"type": "text", "text": text, "text_elements": []}],
        }
        self.sink.notify("item/started", {**self.base, "item": item})
        self.sink.notify("item/completed", {**self.base, "item": item})

    # --- agent messages ------------------------------------------------------------------

    def message_started(self) -> str:
        """Opens an agentMessage item; returns its id."""
        item_id = f"msg_{uuid.uuid4().hex[:16]}"
        self.sink.notify(
            "item/started",
            {**self.base, "item": {"type": "agentMessage", "id": item_id, "text": ""}},
        )
        return item_id

    def message_delta(self, item_id: str, delta: str) -> None:
        self.sink.notify(
            "item/agentMessage/delta", {**self.base, "itemId": item_id, "delta": delta}
        )

    def message_completed(self, item_id: str, text: str) -> JsonObject:
        item: JsonObject = {"type": "agentMessage", "id": item_id, "text": text}
        self.sink.notify("item/completed", {**self.base, "item": item})
        return item

    def agent_message(self, text: str) -> JsonObject:
        """A whole agentMessage at once, streamed as a few deltas; returns the item."""
        item_id = self.message_started()
        for delta in text_deltas(text):
            self.message_delta(item_id, delta)
        return self.message_completed(item_id, text)

    # --- tool calls ----------------------------------------------------------------------

    async def tool_call(
        self, call_id: str, name: str, arguments: JsonObject, deadline: float | None
    ) -> tuple[str, bool]:
        """One dynamic tool call answered by the gateway's client; returns what the model
        sees (text, success). Unanswered within `deadline` s → `TurnFailed`; cancelled (an
        interrupt) → the item completes `failed` and the cancellation propagates."""
        item: JsonObject = {
            "type": "dynamicToolCall",
            "id": call_id,
            "namespace": None,
            "tool": name,
            "arguments": arguments,
            "status": "inProgress",
            "contentItems": None,
            "success": None,
        }
        self.sink.notify("item/started", {**self.base, "item": item})
        answered: asyncio.Future[ServerRequestReply] = asyncio.get_running_loop().create_future()

        async def reply(answer: ServerRequestReply) -> None:
            if answered.done():
                raise RuntimeFailure(-32600, f"tool call {call_id} is no longer waiting")
            answered.set_result(answer)

        started = time.monotonic()
        self.sink.server_request(
            "item/tool/call",
            {**self.base, "callId": call_id, "namespace": None, "tool": name,
             "arguments": arguments},
            reply,
        )

        def completed(**fields: object) -> None:
            duration_ms = int((time.monotonic() - started) * 1000)
            self.sink.notify(
                "item/completed",
                {**self.base, "item": {**item, **fields, "durationMs": duration_ms}},
            )

        try:
            answer = await asyncio.wait_for(asyncio.shield(answered), deadline)
        except (asyncio.CancelledError, TimeoutError) as exc:
            answered.cancel()
            completed(status="failed", success=False)
            if isinstance(exc, TimeoutError):
                raise TurnFailed(
                    f"tool call {name} was not answered within {deadline:g} s"
                ) from None
            raise
        text, success, content_items = answer_text(answer)
        completed(
            status="completed" if success else "failed",
            contentItems=content_items,
            success=success,
        )
        return text, success
