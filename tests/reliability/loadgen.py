"""Load against a gateway: N sessions, each running turns of several tool calls back to back,
answered through one stream (each signal in its own task, as the runner does) with a polling
sweep as fallback. Used by the load test and by `bench/soak.py`.

Tool-call latency is measured from the gateway's `receivedAt` (when it registered the request)
to the moment our answer was accepted (same machine, same clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from teammesh.client import AsyncCodexManager
from teammesh.client.events import AppServerSignal
from teammesh.client.remote_skills.session import AsyncRemoteSkillSession

CITIES = ("Oslo", "Lima", "Rome", "Pune")
PROMPT = "Process for this turn:\n" + "".join(
    f'{n}. Call lookup_weather with {{"city": "{city}"}}.\n' for n, city in enumerate(CITIES, 1)
) + f"{len(CITIES) + 1}. Reply with the weather."
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
TURN_TIMEOUT = 60.0
SWEEP_EVERY = 1.0


@dataclass
class LoadResult:
    sessions: int
    seconds: float
    turns: int = 0
    calls: int = 0
    via_fallback: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _parse(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


async def run_load(base_url: str, sessions: int, seconds: float, *,
                   delete_after: bool = True, headers: dict[str, str] | None = None,
                   max_turns: int | None = None) -> LoadResult:
    result = LoadResult(sessions, seconds)
    async with AsyncCodexManager(base_url=base_url, headers=headers) as cm:
        handles: dict[str, AsyncRemoteSkillSession] = {}
        spawned: set[asyncio.Task[None]] = set()

        def register(draft: Any) -> None:
            def lookup_weather(city: str) -> str:
                return f"{city}: sunny"

            draft.register("lookup_weather", lookup_weather,
                           description="Look up the weather for a city.",
                           input_schema=WEATHER_SCHEMA)

        created = await asyncio.gather(*(
            cm.remote_skills.create_session(register=register, approval_policy="never")
            for _ in range(sessions)))
        for _created, handle in created:
            handles[handle.session_id] = handle

        async def answer(handle: AsyncRemoteSkillSession, signal: AppServerSignal) -> None:
            try:
                dispatched = await handle.respond_to_signal(signal)
            except Exception as exc:  # every failure is counted, none hidden
                result.errors.append(f"answer: {exc!r}")
                return
            if dispatched is None or dispatched.duplicate:
                return
            result.calls += 1
            started = _parse(signal.received_at)
            if started is not None:
                result.latencies.append(time.time() - started)

        @cm.on_app_server_request("item.tool.call")
        async def on_call(signal: AppServerSignal, context: Any = None) -> None:
            handle = handles.get(signal.session_id or "")
            if handle is not None:
                task = asyncio.ensure_future(answer(handle, signal))
                spawned.add(task)
                task.add_done_callback(spawned.discard)

        async def sweep(stop: asyncio.Event) -> None:
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), SWEEP_EVERY)
                for handle in handles.values():
                    try:
                        for dispatched in await handle.drain_pending_calls():
                            if not dispatched.duplicate:
                                result.calls += 1
                                result.via_fallback += 1
                    except Exception as exc:
                        result.errors.append(f"sweep: {exc!r}")

        async def session_loop(handle: AsyncRemoteSkillSession, deadline: float) -> None:
            done = 0
            while time.monotonic() < deadline and (max_turns is None or done < max_turns):
                done += 1
                try:
                    accepted = await handle.send(PROMPT, inject_skills=False)
                    status = await cm.wait.turn_completed(
                        session_id=handle.session_id, turn_id=accepted["turnId"],
                        timeout_seconds=TURN_TIMEOUT)
                except Exception as exc:
                    result.errors.append(f"turn: {exc!r}")
                    return
                if status != "completed":
                    result.errors.append(f"turn ended {status}")
                    return
                result.turns += 1

        stop = asyncio.Event()
        streaming = asyncio.ensure_future(cm.stream.run_forever(stop_event=stop))
        sweeping = asyncio.ensure_future(sweep(stop))
        started = time.monotonic()
        try:
            await asyncio.gather(*(session_loop(h, started + seconds) for h in handles.values()))
        finally:
            result.seconds = time.monotonic() - started
            stop.set()
            for task in (streaming, sweeping):
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, 10)
            for task in tuple(spawned):
                with contextlib.suppress(BaseException):
                    await task
        for session_id in handles:
            leftover = await cm.sessions.tool_calls(session_id)
            if leftover.get("data"):
                result.errors.append(f"{len(leftover['data'])} calls left pending")
            if delete_after:
                await cm.sessions.delete(session_id)
    return result
