"""The llm runtime: an in-process agent loop on pydantic-ai, for any model.

The session's dynamic tools become pydantic-ai tools whose bodies do not run here: each call
is sent to the gateway as an `item/tool/call` server request (exactly the pending-call path
of the playbook and codex runtimes) and the tool returns the client's answer text — the text
only, as codex passes it to its model. A turn emits what `codex app-server` emits:
`turn/started`; the userMessage item; per tool call `item/started` dynamicToolCall → server
request → `item/completed`; each text part the model streams as an agentMessage item with
live deltas; `thread/tokenUsage/updated` after each model response; `turn/completed` whose
items are the final agentMessage.

There is no sandbox and nothing to approve: the model can only call the session's dynamic
tools, so the approval and sandbox settings of a session are accepted and have no effect.

The model comes from the turn, the thread or the settings, in that order (see `llm_model`).
`turn/interrupt` cancels the loop: a tool call it was waiting on completes `failed` and the
turn ends `interrupted`. Each thread keeps its pydantic-ai message history in memory, so a
later turn continues the conversation, and hands it to the gateway after every completed turn
(`save_thread_state`, kept in the gateway store with the session): after a gateway restart
`resume_thread` gets it back and the conversation continues (see `llm_history`). A fork
copies that history; a rollback cuts it before the Nth-last user prompt and keeps the cut
history the same way. `turn/steer` is not offered (pydantic-ai takes no input mid-run).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from teammesh.gateway.runtimes.base import (
    DynamicTool,
    JsonObject,
    Runtime,
    ThreadConfig,
    TurnOptions,
)
from teammesh.gateway.runtimes.in_process import InProcessRuntime, InProcessThread
from teammesh.gateway.runtimes.llm_history import (
    drop_last_turns,
    restore_history,
    saved_history,
)
from teammesh.gateway.runtimes.llm_model import resolve_model
from teammesh.gateway.runtimes.model_failure import model_failure
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.gateway.runtimes.turn_events import TurnEvents, TurnFailed
from teammesh.tracing.llm import instrument_agent

MODEL_PROVIDER = "llm"
# Model requests per turn before the turn fails (a model that never stops calling tools).
MAX_MODEL_REQUESTS = 64


@dataclass
class _Thread(InProcessThread):
    history: list[Any] = field(default_factory=list)  # pydantic-ai ModelMessage objects
    token_total: dict[str, int] = field(default_factory=dict)


class LlmRuntime(InProcessRuntime[_Thread]):
    name = "llm"
    model_provider = MODEL_PROVIDER

    def __init__(self, settings: RuntimeSettings) -> None:
        super().__init__(settings)
        self._models: dict[str, Any] = {}

    def _new_thread(self, thread_id: str, config: ThreadConfig) -> _Thread:
        return _Thread(id=thread_id, config=config, history=restore_history(config.state))

    def _copy_history(self, source: _Thread, target: _Thread) -> None:
        target.history = list(source.history)  # messages are never mutated once made
        target.token_total = dict(source.token_total)

    def _drop_turns(self, thread: _Thread, num_turns: int) -> None:
        thread.history = drop_last_turns(thread.history, num_turns)
        self.sink.save_thread_state(thread.id, saved_history(thread.history))

    async def stop(self) -> None:
        await super().stop()
        models, self._models = list(self._models.values()), {}
        for model in models:  # close the HTTP clients the cached models hold
            close = getattr(getattr(model, "client", None), "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    async def start_turn(self, thread_id: str, text: str, options: TurnOptions) -> str:
        thread = self._begin_turn(thread_id, options)
        model = self._model(options.model or thread.config.model or self._settings.model)
        tools = list(thread.config.dynamic_tools)
        return self._launch(
            thread, lambda turn_id: self._run_turn(thread, turn_id, text, model, tools)
        )

    def _model(self, name: str | None) -> Any:
        """One model object (and so one HTTP client and its connections) per model string:
        building an OpenAI client costs tens of milliseconds (TLS context), per turn too much."""
        key = name or ""
        if key not in self._models:
            self._models[key] = resolve_model(
                name, self._settings.model_base_url, self._settings.model_api_key_env
            )
        return self._models[key]

    async def _run_turn(
        self, thread: _Thread, turn_id: str, text: str, model: Any, tools: list[DynamicTool]
    ) -> None:
        events = TurnEvents(self.sink, thread.id, turn_id)

        async def body() -> list[JsonObject]:
            try:
                return [await self._agent_loop(thread, events, text, model, tools)]
            except TurnFailed:
                raise
            except Exception as exc:  # the model call failed: say why, in codex's terms
                raise model_failure(exc) from exc

        await events.run(
            text, body, lambda: thread.interrupted, lambda exc: f"{type(exc).__name__}: {exc}"
        )

    async def _agent_loop(
        self, thread: _Thread, events: TurnEvents, text: str, model: Any,
        tools: list[DynamicTool],
    ) -> JsonObject:
        """Run the agent, streaming each text part of each model response as an agentMessage
        item (live deltas, as codex does); returns the final agentMessage item."""
        from pydantic_ai import Agent
        from pydantic_ai.usage import UsageLimits

        agent: Agent[None, str] = Agent(
            model, tools=[self._remote_tool(events, tool) for tool in tools], output_type=str
        )
        instrument_agent(agent)  # when traced: its spans nest under the gateway's turn span
        last: JsonObject | None = None
        async with agent.iter(
            text,
            message_history=thread.history or None,
            usage_limits=UsageLimits(request_limit=MAX_MODEL_REQUESTS),
        ) as run:
            async for node in run:
                if Agent.is_model_request_node(node):
                    before = _token_counts(run.usage)
                    async with node.stream(run.ctx) as stream:
                        last = await self._stream_text(events, stream) or last
                    self._report_usage(thread, {**events.base, **_model_label(model)},
                                       before, _token_counts(run.usage))
            result = run.result
        if result is None:
            raise TurnFailed("the model run ended without a result")
        thread.history = list(result.all_messages())
        # Kept before the turn is reported completed: a restart after that continues it.
        self.sink.save_thread_state(thread.id, saved_history(thread.history))
        output = str(result.output)
        if last is None or last["text"] != output:
            last = events.agent_message(output)
        return last

    def _report_usage(
        self, thread: _Thread, base: JsonObject, before: dict[str, int], after: dict[str, int]
    ) -> None:
        """`thread/tokenUsage/updated` after each model response, in codex's shape: `last`
        is this response, `total` the thread's running sum."""
        last = {key: after[key] - before.get(key, 0) for key in after}
        for key, value in last.items():
            thread.token_total[key] = thread.token_total.get(key, 0) + value
        self.sink.notify(
            "thread/tokenUsage/updated",
            {**base, "tokenUsage": {"total": dict(thread.token_total), "last": last,
                                    "modelContextWindow": None}},
        )

    async def _stream_text(self, events: TurnEvents, stream: Any) -> JsonObject | None:
        """Relay one model response's text parts; returns the last completed message item."""
        from pydantic_ai.messages import (
            PartDeltaEvent,
            PartEndEvent,
            PartStartEvent,
            TextPart,
            TextPartDelta,
        )

        open_items: dict[int, tuple[str, list[str]]] = {}
        last: JsonObject | None = None

        def delta(index: int, piece: str) -> None:
            item_id, pieces = open_items[index]
            if piece:
                pieces.append(piece)
                events.message_delta(item_id, piece)

        def complete(index: int, text: str | None = None) -> JsonObject:
            item_id, pieces = open_items.pop(index)
            return events.message_completed(item_id, text if text is not None else "".join(pieces))

        async for event in stream:
            if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                if event.index in open_items:
                    continue  # a replacement of a part already announced
                open_items[event.index] = (events.message_started(), [])
                delta(event.index, event.part.content)
            elif (isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta)
                  and event.index in open_items):
                delta(event.index, event.delta.content_delta)
            elif (isinstance(event, PartEndEvent) and isinstance(event.part, TextPart)
                  and event.index in open_items):
                last = complete(event.index, event.part.content)
        for index in sorted(open_items):  # parts the stream never ended explicitly
            last = complete(index)
        return last

    def _remote_tool(self, events: TurnEvents, tool: DynamicTool) -> Any:
        """A pydantic-ai tool whose call is answered by the gateway's client."""
        from pydantic_ai import RunContext, Tool

        async def call_remote(ctx: RunContext[None], **arguments: Any) -> str:
            call_id = ctx.tool_call_id or f"call_{uuid.uuid4().hex[:16]}"
            text, _ = await events.tool_call(
                call_id, tool.name, arguments, self._settings.tool_call_deadline_s
            )
            return text

        schema = tool.input_schema or {"type": "object", "properties": {}}
        return Tool.from_schema(
            call_remote, name=tool.name, description=tool.description, json_schema=schema,
            takes_ctx=True,
        )


def _model_label(model: Any) -> dict[str, str]:
    """`{"model": "<provider>/<name>"}`: which model answered (ours: an additive field of
    `thread/tokenUsage/updated`, which codex does not send), so a team runner can price the
    tokens; a server of one's own is its own provider and has no price. Empty if unknown."""
    name = getattr(model, "model_name", None)
    system = getattr(model, "system", None)
    if not isinstance(name, str) or not name:
        return {}
    return {"model": f"{system}/{name}" if isinstance(system, str) and system else name}


def _token_counts(usage: Any) -> dict[str, int]:
    """pydantic-ai's RunUsage in app-server's token-usage field names."""
    details = getattr(usage, "details", None) or {}
    counts = {
        "inputTokens": int(getattr(usage, "input_tokens", 0) or 0),
        "cachedInputTokens": int(getattr(usage, "cache_read_tokens", 0) or 0),
        "cacheWriteInputTokens": int(getattr(usage, "cache_write_tokens", 0) or 0),
        "outputTokens": int(getattr(usage, "output_tokens", 0) or 0),
        "reasoningOutputTokens": int(details.get("reasoning_tokens", 0) or 0),
    }
    counts["totalTokens"] = counts["inputTokens"] + counts["outputTokens"]
    return counts


def build(settings: RuntimeSettings) -> Runtime:
    return LlmRuntime(settings)
