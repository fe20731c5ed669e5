"""The tool-call deadline: app-server waits forever for an unanswered `item/tool/call`.

Each tool call app-server sends arms a timer; the call's answer, its turn's completion or the
end of the app-server generation disarms it. A timer that fires hands its turn to the runtime,
which interrupts it (`turn/interrupt`); the turn then completes `interrupted` and the hub
expires the pending call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from teammesh.gateway.runtimes.base import JsonObject
from teammesh.gateway.runtimes.codex_process import RequestId

DeadlineKey = tuple[int, RequestId]  # (app-server generation, its request id)
# Called with the key and the (codex thread id, turn id) of a call left unanswered too long.
Expired = Callable[[DeadlineKey, str, str], None]


@dataclass
class _Deadline:
    handle: asyncio.TimerHandle
    codex_thread_id: str
    turn_id: str


class ToolCallDeadlines:
    def __init__(self, seconds: float | None, expired: Expired) -> None:
        self._seconds = seconds
        self._expired = expired
        self._armed: dict[DeadlineKey, _Deadline] = {}

    def arm(self, key: DeadlineKey, params: JsonObject) -> None:
        """Start the clock for the tool call `params` describes (none without a deadline)."""
        thread_id, turn_id = params.get("threadId"), params.get("turnId")
        if self._seconds is None or not isinstance(thread_id, str) or not isinstance(turn_id, str):
            return
        handle = asyncio.get_running_loop().call_later(self._seconds, self._passed, key)
        self._armed[key] = _Deadline(handle, thread_id, turn_id)

    def answered(self, key: DeadlineKey) -> None:
        deadline = self._armed.pop(key, None)
        if deadline is not None:
            deadline.handle.cancel()

    def turn_completed(self, params: JsonObject) -> None:
        """A `turn/completed` notification: its calls need no deadline any more."""
        turn = params.get("turn")
        turn_id = turn.get("id") if isinstance(turn, dict) else None
        for key, deadline in list(self._armed.items()):
            if deadline.turn_id == turn_id and deadline.codex_thread_id == params.get("threadId"):
                deadline.handle.cancel()
                del self._armed[key]

    def clear(self) -> None:
        """The app-server generation ended (or the runtime stopped): no call is waiting."""
        for deadline in self._armed.values():
            deadline.handle.cancel()
        self._armed.clear()

    def _passed(self, key: DeadlineKey) -> None:
        deadline = self._armed.pop(key, None)
        if deadline is not None:
            self._expired(key, deadline.codex_thread_id, deadline.turn_id)
