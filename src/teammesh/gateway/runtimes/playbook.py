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

`turn/steer` queues text for the running turn: before its next brain step it becomes a
userMessage item of that turn (and the brain's current request), as codex adds steered input
at its next model request. A fork copies the conversation; a rollback cuts it at the start of
the Nth-last turn (turns are remembered by where they began, steered input is no new turn).
"""

from __future__ import annotations

import asyncio
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
    ThreadConfig,
    TurnOptions,
)
from teammesh.gateway.runtimes.in_process import InProcessRuntime, InProcessThread
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.runtimes.turn_events import TurnEvents, TurnFailed

MODEL_PROVIDER = "playbook"
# A brain that never finishes (a bug) must not spin forever.
MAX_MODEL_STEPS = 64
# Steered inputs a turn holds until its next brain step (it may wait on a tool call).
MAX_STEERED = 32


@dataclass
class _Thread(InProcessThread):
    conversation: list[ConversationItem] = field(default_factory=list)
    turn_starts: list[int] = field(default_factory=list)  # conversation index per turn
    steered: list[str] = field(default_factory=list)  # steer input not yet seen by the brain


def _tool_specs(config: ThreadConfig, options: TurnOptions) -> list[ToolSpec]:
    tools = options.dynamic_tools if options.dynamic_tools is not None else config.dynamic_tools
    return [ToolSpec(t.name, t.description, t.input_schema) for t in tools]


class PlaybookRuntime(InProcessRuntime[_Thread]):
    name = "playbook"
    model_provider = MODEL_PROVIDER

    def _new_thread(self, thread_id: str, config: ThreadConfig) -> _Thread:
        return _Thread(id=thread_id, config=config)

    def _copy_history(self, source: _Thread, target: _Thread) -> None:
        target.conversation = list(source.conversation)  # items are immutable values
        target.turn_starts = list(source.turn_starts)

    def _drop_turns(self, thread: _Thread, num_turns: int) -> None:
        if num_turns >= len(thread.turn_starts):
            cut = 0
        else:
            cut = thread.turn_starts[-num_turns]
        del thread.conversation[cut:]
        thread.turn_starts = [start for start in thread.turn_starts if start < cut]

    async def steer_turn(self, thread_id: str, turn_id: str, text: str) -> None:
        thread = self._thread(thread_id)
        if thread.task is None or thread.task.done() or thread.turn_id is None:
            raise RuntimeFailure(-32600, "no active turn to steer")
        if thread.turn_id != turn_id:
            raise RuntimeFailure(  # codex's own words (upstream classifies them: 400)
                -32600, f"expected active turn id `{turn_id}` but found `{thread.turn_id}`"
            )
        if len(thread.steered) >= MAX_STEERED:  # a turn blocked on a tool call stays bounded
            raise RuntimeFailure(-32600, f"conflict: {MAX_STEERED} steered inputs are "
                                 "already waiting for this turn")
        thread.steered.append(text)

    async def start_turn(self, thread_id: str, text: str, options: TurnOptions) -> str:
        thread = self._begin_turn(thread_id, options)
        tools = _tool_specs(thread.config, options)
        return self._launch(thread, lambda turn_id: self._run_turn(thread, turn_id, text, tools))

    async def _run_turn(
        self, thread: _Thread, turn_id: str, text: str, tools: list[ToolSpec]
    ) -> None:
        events = TurnEvents(self.sink, thread.id, turn_id)

        async def body() -> list[JsonObject]:
            thread.steered.clear()
            thread.turn_starts.append(len(thread.conversation))
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
            # Steered input is taken right before the brain runs; a final answer ends the
            # turn without awaiting, so no input can be accepted and then go unseen.
            self._take_steered(thread, events)
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


    @staticmethod
    def _take_steered(thread: _Thread, events: TurnEvents) -> None:
        while thread.steered:
            steered = thread.steered.pop(0)
            events.user_message(steered)
            thread.conversation.append(UserMessage(steered))


def build(settings: RuntimeSettings) -> Runtime:
    return PlaybookRuntime(settings)
