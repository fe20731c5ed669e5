"""`/api/stream` commands and thread filters.

"Did not receive X" is shown without timing: frames are ordered per socket, so after the
events were published, a `ping` whose `pong` is the next frame proves nothing came before.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from teammesh.gateway.embedded import start_gateway

from .helpers import create_session, next_frame, open_stream, send, wait_for_frame

pytestmark = pytest.mark.anyio

INVALID = {"type": "error", "message": "invalid websocket command"}


async def _ping_is_next(socket: ClientConnection) -> None:
    await socket.send(json.dumps({"type": "ping"}))
    assert await next_frame(socket) == {"type": "pong"}


async def test_commands(tmp_path: Path) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway:
        socket = await open_stream(gateway.base_url)
        await _ping_is_next(socket)
        await socket.send(json.dumps({"type": "ping", "extra": 1}))
        assert await next_frame(socket) == {"type": "pong"}
        await socket.send(b'{"type":"ping"}')  # binary frames are decoded as UTF-8
        assert await next_frame(socket) == {"type": "pong"}
        for bad in (
            "not json",
            "[1, 2]",
            '"ping"',
            json.dumps({"type": "dance"}),
            json.dumps({"type": "subscribe"}),
            json.dumps({"type": "subscribe", "threadId": "  "}),
            json.dumps({"type": "subscribe", "threadId": 7}),
        ):
            await socket.send(bad)
            assert await next_frame(socket) == INVALID
        await socket.send(b"\xff\xfe")
        assert await next_frame(socket) == INVALID
        # Still open and answering after every mistake.
        await _ping_is_next(socket)
        await socket.close()


async def test_thread_filters(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        first = await create_session(http)
        second = await create_session(http)
        everything = await open_stream(gateway.base_url)
        only_first = await open_stream(gateway.base_url, thread_id=first)
        switching = await open_stream(gateway.base_url)
        await switching.send(json.dumps({"type": "subscribe", "threadId": second}))
        await _ping_is_next(switching)  # the subscribe has been applied

        turn = await send(http, first)
        signal = await wait_for_frame(everything, "app_server.request.item.tool.call")
        assert signal["threadId"] == first
        filtered = await wait_for_frame(only_first, "app_server.request.item.tool.call")
        assert filtered["payload"]["context"] == {"threadId": first, "turnId": turn}
        # The socket filtered to the other session saw none of it.
        await _ping_is_next(switching)

        # After unsubscribe it receives every session's events again.
        await switching.send(json.dumps({"type": "unsubscribe"}))
        await _ping_is_next(switching)
        await http.post(f"/api/sessions/{first}/interrupt", json={})
        completed = await wait_for_frame(switching, "app_server.turn.completed")
        assert completed["threadId"] == first
        last = await wait_for_frame(switching, "notification")  # the turn's last event
        assert last["payload"]["method"] == "turn/completed"

        # Broadcast events bypass filters: a socket filtered to `second` sees `first` deleted.
        await switching.send(json.dumps({"type": "subscribe", "threadId": second}))
        await _ping_is_next(switching)
        await http.delete(f"/api/sessions/{first}")
        deleted = await wait_for_frame(switching, "session_deleted")
        assert deleted["threadId"] == first
        assert deleted["payload"]["status"] == "deleted"
        for socket in (everything, only_first, switching):
            await socket.close()


async def test_signal_envelope_for_notifications(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        socket = await open_stream(gateway.base_url)
        session_id = await create_session(http)
        renamed = await http.post(f"/api/sessions/{session_id}/rename", json={"title": "dev"})
        assert renamed.status_code == 200
        turn_id = await send(http, session_id)
        started = await wait_for_frame(socket, "app_server.turn.started")
        payload = started["payload"]
        assert set(payload) == {
            "source",
            "signalType",
            "eventType",
            "method",
            "receivedAt",
            "context",
            "params",
            "session",
        }
        assert payload["signalType"] == "notification"
        assert payload["method"] == "turn/started"
        assert payload["context"] == {"threadId": session_id, "turnId": turn_id}
        assert payload["session"] == {"id": session_id, "title": "dev", "projectId": None}
        raw = await wait_for_frame(socket, "notification")
        assert raw["payload"]["method"] == "turn/started"
        assert set(raw["payload"]) == {"method", "params"}
        item = await wait_for_frame(socket, "app_server.item.started")
        assert item["payload"]["params"]["item"]["type"] == "userMessage"
        await socket.close()
