"""Fault 3 — the websocket misbehaves: between the client and the gateway sits a loopback
proxy that delays every stream frame and cuts stream connections at random (seeded) while
tool calls are in flight. HTTP passes untouched.

Every tool call must be answered exactly once — its handler run once, one answer accepted by
the gateway, whether the stream or the polling fallback saw it first — and every turn must
complete. A full team run through the same proxy must end exactly like an undisturbed one.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from teammesh.client import AsyncCodexManager, SkillContext
from teammesh.client.events import AppServerSignal
from teammesh.client.remote_skills.session import AsyncRemoteSkillSession
from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.fanout import MAX_QUEUED_FRAMES
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team

from .faultproxy import FaultPlan, FaultProxy
from .loadgen import CITIES, PROMPT, WEATHER_SCHEMA
from .procs import PROXIED, GatewayProcess

SESSIONS = 6
TURNS = 4
DRAIN_EVERY = 0.2
TURN_TIMEOUT = 30.0


class Observer:
    """An undisturbed websocket straight to the gateway: the referee of what was requested
    and how each request was resolved."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.replace("http://", "ws://") + "/api/stream"
        self.requested: list[str] = []
        self.resolved: list[dict[str, Any]] = []
        self.ready = asyncio.Event()

    async def run(self) -> None:
        async with connect(self.url, max_size=None, max_queue=None) as ws:
            async for raw in ws:
                frame = json.loads(raw)
                kind, payload = frame.get("type"), frame.get("payload")
                if kind == "ready":
                    self.ready.set()
                elif kind == "tool_call_requested":
                    self.requested.append(str(payload["requestId"]))
                elif kind == "tool_call_resolved":
                    self.resolved.append(payload)


async def _turn(cm: AsyncCodexManager, handle: AsyncRemoteSkillSession,
                by_path: collections.Counter[str]) -> str:
    accepted = await handle.send(PROMPT, inject_skills=False)
    turn_id = accepted["turnId"]
    completion = asyncio.ensure_future(cm.wait.turn_completed(
        session_id=handle.session_id, turn_id=turn_id, timeout_seconds=TURN_TIMEOUT))
    try:
        while not completion.done():
            for dispatched in await handle.drain_pending_calls():
                if not dispatched.duplicate:
                    by_path["polling"] += 1
            await asyncio.wait({completion}, timeout=DRAIN_EVERY)
        return str(completion.result())
    finally:
        completion.cancel()


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_cut_and_delayed_stream_every_call_answered_exactly_once(tmp_path: Path) -> None:
    handler_runs: collections.Counter[tuple[str, str]] = collections.Counter()
    by_path: collections.Counter[str] = collections.Counter()
    plan = FaultPlan(cut_after=(0.1, 0.8), delay=(0.0, 0.12), seed=3)
    with GatewayProcess(tmp_path / "gateway", think_ms=50, extra=PROXIED) as gateway, \
            FaultProxy(gateway.port, plan) as proxy:
        observer = Observer(gateway.base_url)
        watching = asyncio.ensure_future(observer.run())
        await asyncio.wait_for(observer.ready.wait(), 10)
        async with AsyncCodexManager(base_url=proxy.base_url) as cm:
            handles: dict[str, AsyncRemoteSkillSession] = {}

            def register(draft: Any) -> None:
                def lookup_weather(city: str, call: SkillContext) -> str:
                    handler_runs[(call.session_id or "", str(call.request_id))] += 1
                    return f"{city}: sunny"

                draft.register("lookup_weather", lookup_weather,
                               description="Look up the weather for a city.",
                               input_schema=WEATHER_SCHEMA)

            for _ in range(SESSIONS):
                _created, handle = await cm.remote_skills.create_session(
                    register=register, approval_policy="never")
                handles[handle.session_id] = handle

            @cm.on_app_server_request("item.tool.call")
            async def on_call(signal: AppServerSignal, context: Any = None) -> None:
                handle = handles.get(signal.session_id or "")
                if handle is None:
                    return
                dispatched = await handle.respond_to_signal(signal)
                if dispatched is not None and not dispatched.duplicate:
                    by_path["stream"] += 1

            stop = asyncio.Event()
            streaming = asyncio.ensure_future(cm.stream.run_forever(stop_event=stop))
            started = time.monotonic()
            try:
                async def session_turns(handle: AsyncRemoteSkillSession) -> list[str]:
                    return [await _turn(cm, handle, by_path) for _ in range(TURNS)]

                statuses = await asyncio.gather(*(session_turns(h) for h in handles.values()))
            finally:
                stop.set()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(streaming, 5)
            elapsed = time.monotonic() - started
            reconnects = cm.stream.reconnect_count
            leftovers = [await cm.sessions.tool_calls(sid) for sid in handles]
        await asyncio.sleep(0.2)  # the last resolved events reach the observer
        watching.cancel()
        with contextlib.suppress(BaseException):
            await watching

    expected_calls = SESSIONS * TURNS * len(CITIES)
    resolved = collections.Counter(r["requestId"] for r in observer.resolved)
    print(f"\nwebsocket faults: {expected_calls} tool calls in {SESSIONS * TURNS} turns"
          f" ({elapsed:.1f}s); stream connections {proxy.counts.stream_connections},"
          f" cut {proxy.counts.stream_cuts}, client reconnects {reconnects},"
          f" delayed chunks {proxy.counts.delayed_chunks}; answered via stream"
          f" {by_path['stream']}, via polling fallback {by_path['polling']};"
          f" handler runs {sum(handler_runs.values())}, resolved events {len(resolved)}")

    assert all(status == "completed" for turns in statuses for status in turns), statuses
    # Exactly once, counted three ways: handler runs, answers accepted, resolutions seen.
    assert len(handler_runs) == expected_calls
    assert set(handler_runs.values()) == {1}
    assert by_path["stream"] + by_path["polling"] == expected_calls
    assert sorted(observer.requested) == sorted(resolved)
    assert set(resolved.values()) == {1}
    assert all(r["status"] == "resolved" and r["success"] for r in observer.resolved)
    assert all(page["data"] == [] for page in leftovers)
    # The faults really happened, and the fallback really carried calls.
    assert proxy.counts.stream_cuts >= 2
    assert reconnects >= proxy.counts.stream_cuts - 1  # the last cut may come at the stop
    assert by_path["polling"] > 0


@pytest.mark.anyio
@pytest.mark.timeout(120)
async def test_team_run_through_a_faulty_stream_ends_like_an_undisturbed_one(
    tmp_path: Path,
) -> None:
    team = builtin_team()

    async def run(base_url: str, name: str) -> tuple[str, list[tuple[str, str, str]], int]:
        board = create_board(run_id=f"run-{name}", team=team.name, roster=team.roster,
                             path=tmp_path / f"{name}.sqlite")
        try:
            async with AsyncCodexManager(base_url=base_url) as cm:
                runner = TeamRunner(cm, team, board, RunOptions(turn_timeout=TURN_TIMEOUT),
                                    Printer())
                outcome = await runner.run()
                reconnects = cm.stream.reconnect_count
            artifacts = [(a.member, a.kind, a.summary) for a in board.artifacts()]
            return outcome.status, artifacts, reconnects
        finally:
            board.close()

    plan = FaultPlan(cut_after=(0.1, 0.6), delay=(0.0, 0.1), seed=11)
    with GatewayProcess(tmp_path / "gateway", think_ms=20, extra=PROXIED) as gateway:
        reference = await run(gateway.base_url, "reference")
        with FaultProxy(gateway.port, plan) as proxy:
            faulty = await run(proxy.base_url, "faulty")
    print(f"\nteam run through the faulty proxy: {faulty[0]}, stream cuts"
          f" {proxy.counts.stream_cuts}, client reconnects {faulty[2]}")
    assert reference[0] == "complete"
    assert faulty[0] == "complete"
    assert faulty[1] == reference[1]
    assert proxy.counts.stream_cuts >= 1


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_a_subscriber_too_far_behind_is_closed_1013_and_the_client_reconnects(
    tmp_path: Path,
) -> None:
    """A burst larger than a socket's queue (the gateway publishes synchronously, so its
    writer cannot drain in between) must end that socket with 1013 so the client reconnects —
    not leave it open and silent after the backlog (found here: it stayed open)."""
    burst = MAX_QUEUED_FRAMES + 10
    async with start_gateway(data_dir=tmp_path) as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        url = gateway.base_url.replace("http://", "ws://") + "/api/stream"
        async with connect(url, max_queue=None) as raw:
            assert json.loads(await asyncio.wait_for(raw.recv(), 10))["type"] == "ready"
            for n in range(burst):
                gateway.hub.fanout.publish("reliability_probe", None, {"n": n})
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(raw.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013

        seen: list[int] = []

        @cm.on_event("reliability_probe")
        def probe(event: Any, context: Any = None) -> None:
            seen.append(event.payload["n"])

        stop = asyncio.Event()
        streaming = asyncio.ensure_future(cm.stream.run_forever(stop_event=stop))
        try:
            async def until(condition: Any) -> None:
                while not condition():  # noqa: ASYNC110 — a counter the client owns
                    await asyncio.sleep(0.02)

            async def probe_arrives(n: int) -> None:
                async def keep_publishing() -> None:
                    while n not in seen:
                        gateway.hub.fanout.publish("reliability_probe", None, {"n": n})
                        await asyncio.sleep(0.1)
                await asyncio.wait_for(keep_publishing(), 15)

            await probe_arrives(-1)  # the client's stream is up
            for n in range(burst):
                gateway.hub.fanout.publish("reliability_probe", None, {"n": n})
            await asyncio.wait_for(until(lambda: cm.stream.reconnect_count >= 1), 15)
            await probe_arrives(-2)  # and events flow again after the reconnect
        finally:
            stop.set()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(streaming, 5)
    print(f"\nslow subscriber: closed with 1013 after a {burst}-frame burst; the client"
          f" reconnected ({cm.stream.reconnect_count}x) and events flowed again")
