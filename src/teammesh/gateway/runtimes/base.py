"""The one runtime interface every agent runtime implements.

A runtime behaves like `codex app-server`: it starts threads with dynamic tools, starts and
interrupts turns, emits notifications (`turn/started`, `item/started`,
`item/agentMessage/delta`, `item/completed`, `turn/completed`, ...) and sends server requests
(`item/tool/call`, approval requests) whose answers come back later. The gateway's session hub
turns those messages into websocket events and session state, so every feature written against
this interface works on every runtime (playbook, llm, codex).

Method names and param shapes are the app-server v2 ones (see
`shared/reference/codex-app-server.md` §3): a runtime that is not codex still emits exactly
what codex would, e.g. `{"method": "turn/completed", "params": {"threadId", "turn": {"id",
"status", "items", "error"}}}`.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]

# The answer to a server request: either a JSON-RPC `result` or an `error` object
# (`{"code": int, "message": str}`), exactly one of the two.
@dataclass(frozen=True)
class ServerRequestReply:
    result: Any = None
    error: JsonObject | None = None


# The hub hands each server request a `reply` callable. The hub calls it exactly once per
# accepted client answer; if it raises, the hub puts the request back to pending (HTTP 500,
# retryable) and may call it again later with the next answer.
ReplyFn = Callable[[ServerRequestReply], Awaitable[None]]


class RuntimeSink(abc.ABC):
    """What a runtime talks to: implemented by the gateway's session hub.

    Both methods are synchronous on purpose: the hub records state and publishes websocket
    frames without awaiting, so a pending tool call is registered before (or atomically with)
    the signal that announces it.
    """

    @abc.abstractmethod
    def notify(self, method: str, params: JsonObject) -> None:
        """An app-server notification, e.g. `turn/started` or `item/completed`."""

    @abc.abstractmethod
    def server_request(self, method: str, params: JsonObject, reply: ReplyFn) -> None:
        """An app-server request that needs a client answer (`item/tool/call`,
        `item/commandExecution/requestApproval`, ...). `params` carries `threadId` and
        `turnId`. The hub allocates the public request id."""

    @abc.abstractmethod
    def runtime_exited(self, reason: str) -> None:
        """The runtime (e.g. the app-server process) died: the hub expires every pending
        request it owns and marks in-flight turns."""

    def wants_notification(self, method: str) -> bool:
        """Whether `notify` would do anything with a `method` notification right now (some
        socket could get one of its events, or the session state reads it). A runtime may
        drop an unwanted one unparsed; the answer changes as sockets come and go, so it is
        asked per message. Default: everything is wanted."""
        return True

    def save_thread_state(self, thread_id: str, state: JsonObject) -> None:
        """Keep `state` (JSON) with the thread's session in the gateway store, so a restarted
        gateway hands it back in `ThreadConfig.state` (the llm runtime's conversation).
        Runtimes that keep their own history (codex: its rollouts) never call it."""
        return None


@dataclass(frozen=True)
class DynamicTool:
    name: str
    description: str
    input_schema: JsonObject


@dataclass
class ThreadConfig:
    """Everything `thread/start` takes. Also used to re-create a thread after a restart."""

    cwd: str
    model: str | None = None
    approval_policy: str = "untrusted"
    sandbox: str = "read-only"
    network_access: str = "restricted"
    dynamic_tools: list[DynamicTool] = field(default_factory=list)
    # What the runtime last asked the gateway to keep for this thread (`save_thread_state`),
    # handed back on `resume_thread` after a restart. None: nothing kept.
    state: JsonObject | None = None


@dataclass
class ThreadInfo:
    """The app-server `Thread` object fields the hub keeps."""

    id: str
    model_provider: str
    cwd: str
    created_at: int  # epoch seconds, as app-server reports them
    source: str = "appServer"
    extra: JsonObject = field(default_factory=dict)


@dataclass
class TurnOptions:
    """Per-turn overrides a `POST .../messages` body may carry."""

    model: str | None = None
    effort: str | None = None
    approval_policy: str | None = None
    sandbox: str | None = None
    network_access: str | None = None
    dynamic_tools: list[DynamicTool] | None = None


class RuntimeFailure(Exception):
    """A runtime refused an operation. `code` follows JSON-RPC (-32600 invalid request,
    -32601 method not found, -32602 invalid params) so the hub can map it like upstream does."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RuntimeUnavailable(RuntimeFailure):
    """The runtime cannot run on this machine as configured (its binary is missing): a
    503 with the reason, not a 500 with a traceback. Nothing is wrong with the request."""


class Runtime(abc.ABC):
    """An agent runtime. One instance serves many threads."""

    name: str = "runtime"

    @abc.abstractmethod
    async def start(self, sink: RuntimeSink) -> None:
        """Bind the sink and acquire resources (e.g. spawn a process)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Release everything; pending work is abandoned (the hub expires it)."""

    @abc.abstractmethod
    async def start_thread(self, config: ThreadConfig) -> ThreadInfo:
        """`thread/start`. Emits `thread/started`."""

    @abc.abstractmethod
    async def resume_thread(self, thread_id: str, config: ThreadConfig) -> None:
        """Make a thread known again after a gateway or runtime restart (`thread/resume`)."""

    @abc.abstractmethod
    async def start_turn(self, thread_id: str, text: str, options: TurnOptions) -> str:
        """`turn/start`: returns the new turn id at once; the turn then runs in the
        background and ends with a `turn/completed` notification."""

    @abc.abstractmethod
    async def interrupt_turn(self, thread_id: str, turn_id: str) -> None:
        """`turn/interrupt`: the turn ends with status `interrupted`."""

    def health(self) -> JsonObject:
        """Informational block for `GET /api/health` (`codex: {running, pid, initialized}`)."""
        return {"running": True, "pid": None, "initialized": True}

    async def call_method(self, method: str, params: JsonObject | None) -> Any:
        """One app-server request that is not about a thread (`model/list`, ...), for the
        gateway's pass-through routes (gateway/upstream_routes.py says which runtime serves
        which). A runtime without it answers JSON-RPC's method-not-found."""
        raise RuntimeFailure(-32601, f"method not found: {method}")

    async def fork_thread(self, source_id: str, config: ThreadConfig) -> ThreadInfo:
        """`thread/fork`: a new thread (new id) with `source_id`'s history and `config`.
        Emits `thread/started` for the new thread."""
        raise RuntimeFailure(-32601, "method not found: thread/fork")

    async def rollback_thread(self, thread_id: str, num_turns: int) -> None:
        """`thread/rollback`: drop the thread's last `num_turns` turns from its history."""
        raise RuntimeFailure(-32601, "method not found: thread/rollback")

    async def steer_turn(self, thread_id: str, turn_id: str, text: str) -> None:
        """`turn/steer`: add `text` to the input of the running turn `turn_id`."""
        raise RuntimeFailure(-32601, "method not found: turn/steer")

    async def call_thread_method(self, thread_id: str, method: str, params: JsonObject) -> Any:
        """One app-server request about a thread (`thread/compact/start`, `review/start`):
        `params` without `threadId`, which the runtime adds in its own spelling."""
        raise RuntimeFailure(-32601, f"method not found: {method}")

    async def archive_thread(self, thread_id: str, archived: bool) -> None:
        """`thread/archive` (`archived`) or `thread/unarchive`. The gateway keeps the flag
        (the session list filters by it); a runtime with its own archive moves the thread."""
        method = "thread/archive" if archived else "thread/unarchive"
        raise RuntimeFailure(-32601, f"method not found: {method}")

    async def forget_thread(self, thread_id: str) -> None:
        """The thread was deleted (its turn, if any, already interrupted): drop whatever the
        runtime keeps for it. A runtime that keeps nothing per thread need not override."""
        return None
