"""A client session with one remote skill, `bench_echo`, answered over the websocket by the
client's own dispatcher (`respond_to_signal`), and a playbook prompt that calls it N times."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from teammesh.client import AsyncCodexManager
from teammesh.client.events import AppServerSignal
from teammesh.client.remote_skills.session import AsyncRemoteSkillSession
from teammesh.mesh.runner import RUNNER_STREAM_EVENTS

ECHO = "bench_echo"
# The event types our runner asks for (`eventTypes`): the tool call, its resolution, the
# turn's completion and its token usage; a bench on the runner's real path sets them.
STREAM_EVENTS = RUNNER_STREAM_EVENTS
ECHO_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}},
               "additionalProperties": False}


def echo(n: int = 0) -> dict[str, Any]:
    """The handler: a small dict back."""
    return {"ok": True, "n": n}


def echo_prompt(calls: int) -> str:
    steps = "\n".join(f'{i}. Call {ECHO} with {{"n": {i}}}.' for i in range(1, calls + 1))
    return f"You are the bench.\nRole: measure round trips.\nProcess for this turn:\n{steps}"


async def open_echo_session(cm: AsyncCodexManager) -> AsyncRemoteSkillSession:
    def register(draft: AsyncRemoteSkillSession) -> None:
        draft.register(ECHO, echo, description="Echo n back.", input_schema=ECHO_SCHEMA)

    _created, handle = await cm.remote_skills.create_session(
        register=register, cwd=".", approval_policy="never")
    return handle


@contextlib.asynccontextmanager
async def streaming(cm: AsyncCodexManager, handles: dict[str, AsyncRemoteSkillSession]
                    ) -> AsyncIterator[None]:
    """One stream for the client; each tool call goes to its session's dispatcher by id, in
    its own task (as the runner does), so the stream keeps reading meanwhile."""
    running: set[asyncio.Task[Any]] = set()

    async def on_call(signal: AppServerSignal, context: Any = None) -> None:
        handle = handles.get(signal.session_id or "")
        if handle is not None:
            task = asyncio.ensure_future(handle.respond_to_signal(signal))
            running.add(task)
            task.add_done_callback(running.discard)

    cm.on_app_server_request("item.tool.call")(on_call)
    stop = asyncio.Event()
    task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
    try:
        yield
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def wait_covered(cm: AsyncCodexManager, session_id: str) -> None:
    """Until the stream is connected and covers the session (its events are trusted)."""
    async with asyncio.timeout(10):
        while not cm.turns.covers(session_id):  # noqa: ASYNC110 - the tracker has no event
            await asyncio.sleep(0.01)


async def run_turn(cm: AsyncCodexManager, handle: AsyncRemoteSkillSession, prompt: str
                   ) -> str:
    accepted = await handle.send(prompt, inject_skills=False)
    turn_id = str(accepted["turnId"])
    status = await cm.wait.turn_completed(session_id=handle.session_id, turn_id=turn_id,
                                          timeout_seconds=60.0)
    if status != "completed":
        raise RuntimeError(f"turn {turn_id} ended {status}")
    return turn_id
