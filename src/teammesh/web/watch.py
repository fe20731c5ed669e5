"""What the web board knows of a run beyond its board rows: when things were first seen.

The board holds what happened (turns, tasks, approvals) but, until the run records carry
times, not when. A `Watch` notes the wall-clock time at which it first saw each turn open,
each turn settle and each task appear (a handoff), from the board polls the feed makes; in
the runner's own process it also hears each tool call start and end from the printer
(`WatchingPrinter`), exactly. The timeline and "turn running for N s" are built on these.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from teammesh.mesh.board import SYSTEM_MEMBER, TaskRecord, TurnSlot
from teammesh.mesh.output import Printer

# A long run must not grow the page without bound: the oldest calls drop off first.
MAX_CALLS = 4000


@dataclass
class TurnSeen:
    token: str
    member: str
    round: int
    started: float
    ended: float | None = None
    state: str = "open"
    reason: str = ""


@dataclass
class CallSeen:
    member: str
    tool: str
    started: float
    ended: float | None = None


@dataclass
class Watch:
    started: float = field(default_factory=time.time)
    turns: dict[str, TurnSeen] = field(default_factory=dict)
    calls: list[CallSeen] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    _tasks_seen: set[int] = field(default_factory=set)
    _starts: dict[str, float] = field(default_factory=dict)
    # A member's call in flight (in the runner's process only).
    calling: dict[str, CallSeen] = field(default_factory=dict)

    def note_starts(self, starts: dict[str, float]) -> None:
        """Turn start times the board recorded (exact): they replace first-seen times."""
        self._starts.update(starts)
        for token, started in starts.items():
            seen = self.turns.get(token)
            if seen is not None:
                seen.started = started

    def see_turns(self, slots: list[TurnSlot]) -> None:
        now = time.time()
        for slot in slots:
            seen = self.turns.get(slot.token)
            if seen is None:
                seen = self.turns[slot.token] = TurnSeen(
                    slot.token, slot.member, slot.round, self._starts.get(slot.token, now))
            if slot.state != "open" and seen.ended is None:
                seen.ended, seen.state, seen.reason = now, slot.state, slot.reason

    def see_tasks(self, tasks: list[TaskRecord]) -> None:
        now = time.time()
        for task in tasks:
            if task.id in self._tasks_seen:
                continue
            self._tasks_seen.add(task.id)
            if task.queued_by != SYSTEM_MEMBER:
                self.handoffs.append({"from": task.queued_by, "to": task.owner, "at": now,
                                      "task": task.id})

    def call_started(self, member: str, tool: str) -> None:
        running = self.calling.get(member)
        if running is not None and running.tool == tool and running.ended is None:
            return  # the gate's inner handler: the same call
        call = CallSeen(member, tool, time.time())
        self.calling[member] = call
        self.calls.append(call)
        del self.calls[:-MAX_CALLS]

    def call_ended(self, member: str, tool: str) -> None:
        call = self.calling.pop(member, None)
        if call is not None and call.ended is None:
            call.ended = time.time()


class WatchingPrinter(Printer):
    """The run's printer, telling a `Watch` of every tool call (prints exactly as before)."""

    def __init__(self, watch: Watch, out: TextIO | None = None,
                 notes: TextIO | None = None) -> None:
        super().__init__(out, notes)
        self.watch = watch
        self.on_event: Any = None  # the feed's nudge: something changed

    def call_started(self, member: str, tool: str) -> None:
        self.watch.call_started(member, tool)
        if self.on_event is not None:
            self.on_event()

    def tool_call(self, member: str, tool: str) -> None:
        self.watch.call_ended(member, tool)
        super().tool_call(member, tool)
        if self.on_event is not None:
            self.on_event()
