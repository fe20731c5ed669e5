"""The websocket stream against the real gateway: fan-out, isolation, filters, big frames,
stop, and reconnect after the gateway restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from teammesh.client import (
    AppServerSignal,
    AsyncCodexManager,
    EventRouter,
    StreamContext,
    StreamEvent,
)
from teammesh.client.stream import AsyncEventStream, stream_url
from teammesh.gateway.embedded import GatewayThread, start_gateway

pytestmark = pytest.mark.anyio


async def _until(condition: Any, limit: float = 15.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():  # noqa: ASYNC110 - polling a plain predicate
            await asyncio.sleep(0.01)


def test_stream_url_and_backoff() -> None:
    assert stream_url("http://127.0.0.1:18765/", "/api", "t1") == (
        "ws://127.0.0.1:18765/api/stream?threadId=t1"
    )
    assert stream_url("https://host/base", "/api") == "wss://host/base/api/stream"
    stream = AsyncEventStream("http://127.0.0.1:1", "/api")
    assert [stream.backoff_seconds(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


async def test_fan_out_in_registration_order_with_isolation(gateway: GatewayThread) -> None:
    errors: list[tuple[str, str]] = []
    router = EventRouter(
        on_handler_error=lambda error, event: errors.append((event.type, str(error)))
    )
    order: list[str] = []
    async with AsyncCodexManager(base_url=gateway.base_url, stream_router=router) as cm:

        @cm.on_app_server("turn.completed")
        def first(signal: AppServerSignal, ctx: StreamContext) -> None:
            order.append("first")
            raise RuntimeError("handler bug")

        @cm.on_event("app_server.turn.completed")
        async def second(event: StreamEvent, ctx: StreamContext) -> None:
            await asyncio.sleep(0)
            order.append("second")

        @cm.on_event_prefix("app_server.turn.")
        def third(event: StreamEvent, ctx: StreamContext) -> None:
            if event.type == "app_server.turn.completed":
                order.append("third")

        started: list[StreamEvent] = []
        cm.on_turn_started()(lambda event, ctx: started.append(event))
        completed: list[AppServerSignal] = []
        cm.on_turn_completed()(lambda signal, ctx: completed.append(signal))

        stop = asyncio.Event()
        task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        await _until(lambda: cm.turns.covers("anything"))
        created = await cm.sessions.create()
        session_id = created["session"]["sessionId"]
        accepted = await cm.sessions.send_message(session_id, "hi")
        await _until(lambda: len(order) == 3)
        stop.set()
        await asyncio.wait_for(task, 10)

    assert order == ["first", "second", "third"]
    assert errors == [("app_server.turn.completed", "handler bug")]
    assert started and all(e.type == "app_server.item.started" for e in started)
    assert completed[0].session_id == session_id
    assert completed[0].params["turn"]["id"] == accepted["turnId"]
    assert cm.turns.completed_status(session_id, accepted["turnId"]) == "completed"


async def test_thread_filter(gateway: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=gateway.base_url) as cm:
        wanted = (await cm.sessions.create())["session"]["sessionId"]
        other = (await cm.sessions.create())["session"]["sessionId"]
        seen_threads: set[str | None] = set()

        @cm.on_event_prefix("")
        def record(event: StreamEvent, ctx: StreamContext) -> None:
            assert ctx.thread_id == wanted
            if event.type not in ("ready", "pong"):
                seen_threads.add(event.thread_id)

        stop = asyncio.Event()
        task = asyncio.create_task(cm.stream.run_forever(thread_id=wanted, stop_event=stop))
        await _until(lambda: cm.turns.covers(wanted))
        assert not cm.turns.covers(other)
        other_turn = await cm.sessions.send_message(other, "not for us")
        await cm.wait.assistant_reply(session_id=other, turn_id=other_turn["turnId"])
        accepted = await cm.sessions.send_message(wanted, "for us")
        await cm.wait.turn_completed(session_id=wanted, turn_id=accepted["turnId"])
        await _until(lambda: cm.turns.completed_status(wanted, accepted["turnId"]) is not None)
        stop.set()
        await asyncio.wait_for(task, 10)
    assert seen_threads == {wanted}
    assert cm.turns.completed_status(other, other_turn["turnId"]) is None


async def test_reconnects_after_gateway_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "gw"
    readies: list[int] = []
    turns: list[str] = []
    async with start_gateway(data_dir=data_dir) as first:
        port = first.port
        cm = AsyncCodexManager(base_url=first.base_url)

        @cm.on_event("ready")
        def ready(event: StreamEvent, ctx: StreamContext) -> None:
            readies.append(ctx.reconnect_count)

        @cm.on_app_server("turn.completed")
        def done(signal: AppServerSignal, ctx: StreamContext) -> None:
            turns.append(signal.params["turn"]["id"])

        stop = asyncio.Event()
        task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        await _until(lambda: len(readies) == 1)
        session_id = (await cm.sessions.create())["session"]["sessionId"]
    # The gateway is down: the stream keeps retrying with backoff.
    await _until(lambda: cm.stream.consecutive_failures >= 2)
    assert not task.done()
    async with start_gateway(data_dir=data_dir, port=port) as second:
        await _until(lambda: len(readies) == 2, limit=30)
        assert readies[1] >= 2
        # A healthy connection resets the backoff: the next outage starts at 0.5 s again.
        assert cm.stream.consecutive_failures == 0
        assert second.base_url == first.base_url
        accepted = await cm.sessions.send_message(session_id, "after restart")
        await _until(lambda: accepted["turnId"] in turns)
        stop.set()
        await asyncio.wait_for(task, 10)
        await cm.close()


async def test_stop_event_ends_a_connection_attempt_loop() -> None:
    # Nothing listens on this port: run_forever keeps backing off until stopped.
    cm = AsyncCodexManager(base_url="http://127.0.0.1:9")
    stop = asyncio.Event()
    task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
    await asyncio.sleep(0.2)
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 5)
    await cm.close()


async def test_stop_wakes_an_idle_connected_stream(gateway: GatewayThread) -> None:
    # Connected and idle: the reader waits for a frame with one future and a timer as long
    # as the stream's receive timeout; setting the stop event must end that wait itself
    # (stream_reader.py), not leave the stream until the timer runs out.
    cm = AsyncCodexManager(base_url=gateway.base_url)
    cm.stream.receive_timeout_seconds = 60.0
    stop = asyncio.Event()
    task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
    await _until(lambda: cm.stream.consecutive_failures == 0 and cm.turns.covers("any"))
    await asyncio.sleep(0.1)  # the ready frame handled: the reader now waits on nothing
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, 10)  # far below the 60 s receive timeout
    await cm.close()
