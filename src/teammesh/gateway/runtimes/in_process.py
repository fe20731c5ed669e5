"""What the in-process runtimes (playbook, llm) share: their threads and turn tasks.

Threads live in memory; each runs at most one turn at a time as an asyncio task, and
`turn/interrupt` cancels that task (the turn then ends `interrupted`, see `TurnEvents.run`).
After a gateway restart `resume_thread` rebuilds a thread from its config alone.
`fork_thread` copies a thread's history into a new one and `rollback_thread` drops its last
turns (what each runtime's history is: `_copy_history`, `_drop_turns`).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
from teammesh.gateway.runtimes.turn_events import notify_thread_started


@dataclass
class InProcessThread:
    id: str
    config: ThreadConfig
    turn_id: str | None = None
    task: asyncio.Task[None] | None = None
    interrupted: bool = False


ThreadT = TypeVar("ThreadT", bound=InProcessThread)


class InProcessRuntime(Runtime, Generic[ThreadT]):
    model_provider: str = "runtime"

    def __init__(self, settings: RuntimeSettings) -> None:
        self._settings = settings
        self._sink: RuntimeSink | None = None
        self._threads: dict[str, ThreadT] = {}

    @abc.abstractmethod
    def _new_thread(self, thread_id: str, config: ThreadConfig) -> ThreadT:
        """A fresh thread state of this runtime's kind."""

    def _copy_history(self, source: ThreadT, target: ThreadT) -> None:
        """Give `target` (a fresh thread) a copy of `source`'s conversation."""
        raise RuntimeFailure(-32601, f"method not found: thread/fork on {self.name}")

    def _drop_turns(self, thread: ThreadT, num_turns: int) -> None:
        """Drop the last `num_turns` turns from `thread`'s conversation (all it has, if
        it holds fewer)."""
        raise RuntimeFailure(-32601, f"method not found: thread/rollback on {self.name}")

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
        thread = self._new_thread(str(uuid.uuid4()), config)
        self._threads[thread.id] = thread
        created_at = int(time.time())
        notify_thread_started(self.sink, thread.id, self.model_provider, config.cwd, created_at)
        return ThreadInfo(
            id=thread.id, model_provider=self.model_provider, cwd=config.cwd, created_at=created_at
        )

    async def resume_thread(self, thread_id: str, config: ThreadConfig) -> None:
        thread = self._threads.get(thread_id)
        if thread is None:
            self._threads[thread_id] = self._new_thread(thread_id, config)
        else:
            thread.config = config

    async def fork_thread(self, source_id: str, config: ThreadConfig) -> ThreadInfo:
        source = self._thread(source_id)
        thread = self._new_thread(str(uuid.uuid4()), config)
        self._copy_history(source, thread)
        self._threads[thread.id] = thread
        created_at = int(time.time())
        notify_thread_started(self.sink, thread.id, self.model_provider, config.cwd, created_at)
        return ThreadInfo(
            id=thread.id, model_provider=self.model_provider, cwd=config.cwd, created_at=created_at
        )

    async def rollback_thread(self, thread_id: str, num_turns: int) -> None:
        thread = self._thread(thread_id)
        if thread.task is not None and not thread.task.done():
            raise RuntimeFailure(-32600, "cannot roll back while a turn is in progress")
        self._drop_turns(thread, num_turns)

    async def archive_thread(self, thread_id: str, archived: bool) -> None:
        return None  # nothing to move: the gateway's flag is the whole archive here

    async def forget_thread(self, thread_id: str) -> None:
        # A turn still winding down keeps its own reference until it ends.
        self._threads.pop(thread_id, None)

    def _thread(self, thread_id: str) -> ThreadT:
        thread = self._threads.get(thread_id)
        if thread is None:
            raise RuntimeFailure(-32600, f"thread not found: {thread_id}")
        return thread

    # --- turns ---------------------------------------------------------------------------

    def _begin_turn(self, thread_id: str, options: TurnOptions) -> ThreadT:
        """The thread a new turn may start on (none running), its tools updated."""
        thread = self._thread(thread_id)
        if thread.task is not None and not thread.task.done():
            raise RuntimeFailure(-32600, "turn is already in progress")
        if options.dynamic_tools is not None:
            thread.config.dynamic_tools = options.dynamic_tools
        return thread

    def _launch(
        self, thread: ThreadT, run: Callable[[str], Coroutine[Any, Any, None]]
    ) -> str:
        """Start `run(turn_id)` as the thread's turn task; returns the new turn id."""
        turn_id = str(uuid.uuid4())
        thread.turn_id = turn_id
        thread.interrupted = False
        thread.task = asyncio.get_running_loop().create_task(run(turn_id))
        return turn_id

    async def interrupt_turn(self, thread_id: str, turn_id: str) -> None:
        thread = self._thread(thread_id)
        if thread.turn_id != turn_id or thread.task is None or thread.task.done():
            return  # nothing running under that id: interrupting is idempotent
        thread.interrupted = True
        thread.task.cancel()
