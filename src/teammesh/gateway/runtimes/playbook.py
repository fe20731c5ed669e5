"""The playbook runtime: in process, deterministic, no model.

Each model step is one call of the playbook brain (`teammesh.brain.playbook.decide`), and a
turn emits exactly what `codex app-server` emits for the same work (shared/reference/
codex-app-server.md §3.3): `turn/started`; `item/started` + `item/completed` for the
userMessage; per tool call `item/started` dynamicToolCall → server request `item/tool/call`
→ `item/completed` dynamicToolCall (contentItems, success); then the agentMessage with its
deltas; `turn/completed {threadId, turn: {id, status, items, error}}`.

Options (`RuntimeSettings`): `think_ms` sleeps before every `decide` (simulated model
latency); `tool_call_deadline_s` bounds the wait for a tool-call answer — when it passes the
turn ends `failed` with an error naming the tool (codex itself never times out).
`turn/interrupt` ends the turn `interrupted`; a tool call it was waiting on completes `failed`.
Threads keep their conversation in memory; after a gateway restart `resume_thread` rebuilds a
thread from its config alone (earlier turns' items are not replayed into the brain).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field

from teammesh.brain.playbook import decide
from teammesh.brain.types import (
    AssistantMessage,
    ConversationItem,
    ToolCall,
    ToolOutput,
    ToolSpec,
    UserMessage,
)
from teammesh.gateway.runtimes.base import (
    JsonObject,
    Runtime,
    RuntimeFailure,
    RuntimeSink,
    ServerRequestReply,
    ThreadConfig,
    ThreadInfo,
    TurnOptions,
)
from teammesh.gateway.runtimes.registry import RuntimeSettings

MODEL_PROVIDER = "playbook"
# A brain that never finishes (a bug) must not spin forever.
MAX_MODEL_STEPS = 64


class _TurnFailed(Exception):
    """The turn ends `failed` with this message."""


@dataclass
class _Thread:
    id: str
    config: ThreadConfig
    conversation: list[ConversationItem] = field(default_factory=list)
    turn_id: str | None = None
    task: asyncio.Task[None] | None = None
    interrupted: bool = False


def _tool_specs(config: ThreadConfig, options: TurnOptions) -> list[ToolSpec]:
    tools = options.dynamic_tools if options.dynamic_tools is not None else config.dynamic_tools
    return [ToolSpec(t.name, t.description, t.input_schema) for t in tools]


def _output_text(reply: ServerRequestReply) -> tuple[str, bool, list[JsonObject] | None]:
    """What the model sees from a tool-call answer: the text of its content items (codex
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


def _chunks(text: str, words_per_chunk: int = 6) -> list[str]:
    """Stream the final text as a few deltas whose concatenation is the text."""
    words = text.split(" ")
    return [
        " ".join(words[i : i + words_per_chunk]) + (" " if i + words_per_chunk < len(words) else "")
        for i in range(0, len(words), words_per_chunk)
    ] or [""]


class PlaybookRuntime(Runtime):
    name = "playbook"

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        self._sink: RuntimeSink | None = None
        self._threads: dict[str, _Thread] = {}

    @property
    def sink(self) -> RuntimeSink:
        if self._sink is None:
            raise RuntimeFailure(-32600, "runtime not started")
        return self._sink

    async def start(self, sink: RuntimeSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        tasks = [t.task for t in self._threads.values() if t.task is not None]
        for thread in self._threads.values():
            thread.task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._threads.clear()

    def health(self) -> JsonObject:
        return {"running": True, "pid": None, "initialized": self._sink is not None}

    # --- threads -------------------------------------------------------------------------

    def _thread_object(self, thread: _Thread, created_at: int) -> JsonObject:
        return {
            "id": thread.id,
            "preview": "",
            "modelProvider": MODEL_PROVIDER,
            "createdAt": created_at,
            "updatedAt": created_at,
            "cwd": thread.config.cwd,
            "source": "appServer",
            "status": {"type": "idle"},
            "turns": [],
        }

    async def start_thread(self, config: ThreadConfig) -> ThreadInfo:
        thread = _Thread(id=str(uuid.uuid4()), config=config)
        self._threads[thread.id] = thread
        created_at = int(time.time())
        self.sink.notify("thread/started", {"thread": self._thread_object(thread, created_at)})
        return ThreadInfo(
            id=thread.id, model_provider=MODEL_PROVIDER, cwd=config.cwd, created_at=created_at
        )

    async def resume_thread(self, thread_id: str, config: ThreadConfig) -> None:
        thread = self._threads.get(thread_id)
        if thread is None:
            self._threads[thread_id] = _Thread(id=thread_id, config=config)
        else:
            thread.config = config

    async def forget_thread(self, thread_id: str) -> None:
        # A turn still winding down keeps its own reference until it ends.
        self._threads.pop(thread_id, None)

    def _thread(self, thread_id: str) -> _Thread:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise RuntimeFailure(-32600, f"thread not found: {thread_id}")
        return thread

    # --- turns ---------------------------------------------------------------------------

    async def start_turn(self, thread_id: str, text: str, options: TurnOptions) -> str:
        thread = self._thread(thread_id)
        if thread.task is not None and not thread.task.done():
            raise RuntimeFailure(-32600, "turn is already in progress")
        if options.dynamic_tools is not None:
            thread.config.dynamic_tools = options.dynamic_tools
        turn_id = str(uuid.uuid4())
        thread.turn_id = turn_id
        thread.interrupted = False
        tools = _tool_specs(thread.config, options)
        thread.task = asyncio.get_running_loop().create_task(
            self._run_turn(thread, turn_id, text, tools)
        )
        return turn_id

    async def interrupt_turn(self, thread_id: str, turn_id: str) -> None:
        thread = self._thread(thread_id)
        if thread.turn_id != turn_id or thread.task is None or thread.task.done():
            return  # nothing running under that id: interrupting is idempotent
        thread.interrupted = True
        thread.task.cancel()

    async def _run_turn(
        self, thread: _Thread, turn_id: str, text: str, tools: list[ToolSpec]
    ) -> None:
        base = {"threadId": thread.id, "turnId": turn_id}
        sink = self.sink
        sink.notify(
            "turn/started",
            {
                "threadId": thread.id,
                "turn": {"id": turn_id, "status": "inProgress", "items": [], "error": None},
            },
        )
        status, error, final_items = "completed", None, []
        try:
            user_item = {
                "type": "userMessage",
                "id": str(uuid.uuid4()),
                "content": [{"type": "text", "text": text, "text_elements": []}],
            }
            sink.notify("item/started", {**base, "item": user_item})
            sink.notify("item/completed", {**base, "item": user_item})
            thread.conversation.append(UserMessage(text))
            final_items = await self._model_loop(thread, base, tools)
        except asyncio.CancelledError:
            if not thread.interrupted:
                raise  # runtime stopping: abandon silently, the hub marks the turn
            status = "interrupted"
        except _TurnFailed as exc:
            status, error = (
                "failed",
                {"message": str(exc), "codexErrorInfo": None, "additionalDetails": None},
            )
        except Exception as exc:  # a brain bug must end the turn, not hang it
            status, error = (
                "failed",
                {
                    "message": f"playbook error: {exc}",
                    "codexErrorInfo": None,
                    "additionalDetails": None,
                },
            )
        sink.notify(
            "turn/completed",
            {
                "threadId": thread.id,
                "turn": {"id": turn_id, "status": status, "items": final_items, "error": error},
            },
        )

    async def _model_loop(
        self, thread: _Thread, base: JsonObject, tools: list[ToolSpec]
    ) -> list[JsonObject]:
        for _ in range(MAX_MODEL_STEPS):
            if self._settings.think_ms > 0:
                await asyncio.sleep(self._settings.think_ms / 1000)
            action = decide(thread.conversation, tools)
            if action.is_final:
                return [self._emit_message(thread, base, action.message or "")]
            for call in action.tool_calls:
                await self._tool_call(thread, base, call)
        raise _TurnFailed(f"playbook made more than {MAX_MODEL_STEPS} model steps")

    def _emit_message(self, thread: _Thread, base: JsonObject, text: str) -> JsonObject:
        item_id = f"msg_{uuid.uuid4().hex[:16]}"
        self.sink.notify(
            "item/started", {**base, "item": {"type": "agentMessage", "id": item_id, "text": ""}}
        )
        for delta in _chunks(text):
            self.sink.notify("item/agentMessage/delta", {**base, "itemId": item_id, "delta": delta})
        item = {"type": "agentMessage", "id": item_id, "text": text}
        self.sink.notify("item/completed", {**base, "item": item})
        thread.conversation.append(AssistantMessage(text))
        return item

    async def _tool_call(self, thread: _Thread, base: JsonObject, call: ToolCall) -> None:
        item: JsonObject = {
            "type": "dynamicToolCall",
            "id": call.call_id,
            "namespace": None,
            "tool": call.name,
            "arguments": call.arguments,
            "status": "inProgress",
            "contentItems": None,
            "success": None,
        }
        self.sink.notify("item/started", {**base, "item": item})
        thread.conversation.append(call)
        answered: asyncio.Future[ServerRequestReply] = asyncio.get_running_loop().create_future()

        async def reply(answer: ServerRequestReply) -> None:
            if answered.done():
                raise RuntimeFailure(-32600, f"tool call {call.call_id} is no longer waiting")
            answered.set_result(answer)

        started = time.monotonic()
        self.sink.server_request(
            "item/tool/call",
            {
                **base,
                "callId": call.call_id,
                "namespace": None,
                "tool": call.name,
                "arguments": call.arguments,
            },
            reply,
        )
        deadline = self._settings.tool_call_deadline_s
        try:
            answer = await asyncio.wait_for(asyncio.shield(answered), deadline)
        except (asyncio.CancelledError, TimeoutError) as exc:
            answered.cancel()
            self.sink.notify(
                "item/completed",
                {
                    **base,
                    "item": {
                        **item,
                        "status": "failed",
                        "success": False,
                        "durationMs": int((time.monotonic() - started) * 1000),
                    },
                },
            )
            if isinstance(exc, TimeoutError):
                raise _TurnFailed(
                    f"tool call {call.name} was not answered within {deadline:g} s"
                ) from None
            raise
        text, success, content_items = _output_text(answer)
        self.sink.notify(
            "item/completed",
            {
                **base,
                "item": {
                    **item,
                    "status": "completed" if success else "failed",
                    "contentItems": content_items,
                    "success": success,
                    "durationMs": int((time.monotonic() - started) * 1000),
                },
            },
        )
        thread.conversation.append(ToolOutput(call.call_id, text, success))


def build(settings: RuntimeSettings) -> Runtime:
    return PlaybookRuntime(settings)
