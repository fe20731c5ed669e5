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
import time
import uuid
from dataclasses import dataclass, field

from teammesh.brain.playbook import decide
from teammesh.brain.types import (
    AssistantMessage,
    ConversationItem,
    ToolOutput,
    ToolSpec,
    UserMessage,
)
from teammesh.gateway.runtimes.base import (
    JsonObject,
    Runtime,
    RuntimeFailure,
    RuntimeSink,
    ThreadConfig,
    ThreadInfo,
    TurnOptions,
)
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.runtimes.turn_events import TurnEvents, TurnFailed, notify_thread_started

MODEL_PROVIDER = "playbook"
# A brain that never finishes (a bug) must not spin forever.
MAX_MODEL_STEPS = 64


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

    async def start_thread(self, config: ThreadConfig) -> ThreadInfo:
        thread = _Thread(id=str(uuid.uuid4()), config=config)
        self._threads[thread.id] = thread
        created_at = int(time.time())
        notify_thread_started(self.sink, thread.id, MODEL_PROVIDER, config.cwd, created_at)
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
        events = TurnEvents(self.sink, thread.id, turn_id)

        async def body() -> list[JsonObject]:
            thread.conversation.append(UserMessage(text))
            return await self._model_loop(thread, events, tools)

        await events.run(
            text, body, lambda: thread.interrupted, lambda exc: f"playbook error: {exc}"
        )

    async def _model_loop(
        self, thread: _Thread, events: TurnEvents, tools: list[ToolSpec]
    ) -> list[JsonObject]:
        for _ in range(MAX_MODEL_STEPS):
            if self._settings.think_ms > 0:
                await asyncio.sleep(self._settings.think_ms / 1000)
            action = decide(thread.conversation, tools)
            if action.is_final:
                text = action.message or ""
                item = events.agent_message(text)
                thread.conversation.append(AssistantMessage(text))
                return [item]
            for call in action.tool_calls:
                thread.conversation.append(call)
                output, success = await events.tool_call(
                    call.call_id, call.name, call.arguments, self._settings.tool_call_deadline_s
                )
                thread.conversation.append(ToolOutput(call.call_id, output, success))
        raise TurnFailed(f"playbook made more than {MAX_MODEL_STEPS} model steps")


def build(settings: RuntimeSettings) -> Runtime:
    return PlaybookRuntime(settings)
