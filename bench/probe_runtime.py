"""The playbook runtime with a probe on it: every call goes to the real `PlaybookRuntime`;
the probe only timestamps, on the monotonic clock every process of this machine shares
(`time.perf_counter` is CLOCK_MONOTONIC on Linux), the moments that define our figures:

- a tool call: the runtime emitting it (`server_request("item/tool/call")`) → the runtime
  holding its result (the hub calling the call's `reply`);
- a turn: the runtime being asked to start it (`start_turn`) and emitting `turn/completed`.

Only `bench.probe_gateway` installs it (under the runtime name `playbook`, in its own process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from teammesh.gateway.runtimes.base import (
    JsonObject,
    ReplyFn,
    Runtime,
    RuntimeSink,
    ServerRequestReply,
    ThreadConfig,
    ThreadInfo,
    TurnOptions,
)
from teammesh.gateway.runtimes.playbook import PlaybookRuntime
from teammesh.gateway.runtimes.registry import RuntimeSettings


@dataclass
class Probe:
    tool_calls: list[float] = field(default_factory=list)  # seconds, emit → result
    turn_starts: list[tuple[str, float]] = field(default_factory=list)  # (thread, t)
    turn_ends: list[tuple[str, str, float]] = field(default_factory=list)  # (thread, turn, t)

    def dump(self) -> dict[str, Any]:
        data = {"tool_calls": self.tool_calls, "turn_starts": self.turn_starts,
                "turn_ends": self.turn_ends}
        self.tool_calls, self.turn_starts, self.turn_ends = [], [], []
        return data


PROBE = Probe()


class _ProbeSink(RuntimeSink):
    def __init__(self, inner: RuntimeSink) -> None:
        self._inner = inner

    def notify(self, method: str, params: JsonObject) -> None:
        if method == "turn/completed":
            turn = params.get("turn")
            turn = turn if isinstance(turn, dict) else {}
            PROBE.turn_ends.append((str(params.get("threadId")), str(turn.get("id")),
                                    time.perf_counter()))
        self._inner.notify(method, params)

    def server_request(self, method: str, params: JsonObject, reply: ReplyFn) -> None:
        if method != "item/tool/call":
            self._inner.server_request(method, params, reply)
            return
        emitted = time.perf_counter()

        async def timed(answer: ServerRequestReply) -> None:
            PROBE.tool_calls.append(time.perf_counter() - emitted)
            await reply(answer)

        self._inner.server_request(method, params, timed)

    def runtime_exited(self, reason: str) -> None:
        self._inner.runtime_exited(reason)


class ProbedPlaybook(Runtime):
    name = "playbook"

    def __init__(self, settings: RuntimeSettings) -> None:
        self._inner = PlaybookRuntime(settings)

    async def start(self, sink: RuntimeSink) -> None:
        await self._inner.start(_ProbeSink(sink))

    async def stop(self) -> None:
        await self._inner.stop()

    async def start_thread(self, config: ThreadConfig) -> ThreadInfo:
        return await self._inner.start_thread(config)

    async def resume_thread(self, thread_id: str, config: ThreadConfig) -> None:
        await self._inner.resume_thread(thread_id, config)

    async def start_turn(self, thread_id: str, text: str, options: TurnOptions) -> str:
        PROBE.turn_starts.append((thread_id, time.perf_counter()))
        return await self._inner.start_turn(thread_id, text, options)

    async def interrupt_turn(self, thread_id: str, turn_id: str) -> None:
        await self._inner.interrupt_turn(thread_id, turn_id)

    def health(self) -> JsonObject:
        return self._inner.health()


def build(settings: RuntimeSettings) -> Runtime:
    return ProbedPlaybook(settings)
