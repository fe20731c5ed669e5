"""The client starts turns over the stream's websocket when the gateway grants `turnStart`
(client/stream_turns.py, stream_transport.py), and POSTs them when it does not, or when the
body is bigger than the socket takes. The caller gets the same body, or the same classified
error, either way. Real gateway (on and off), real websockets; HTTP requests are counted on
the client's own httpx client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.client import AsyncCodexManager
from teammesh.client.errors import ApiError
from teammesh.gateway.embedded import GatewayThread
from teammesh.serving.limits import ServerLimits

from .conftest import steps_prompt

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _streaming(base_url: str, posts: list[str], *, start_turns: bool = True
                     ) -> AsyncIterator[AsyncCodexManager]:
    """A client whose stream runs; every HTTP message POST it makes lands in `posts`."""

    async def count(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/messages"):
            posts.append(request.url.path)

    http = httpx.AsyncClient(base_url=base_url, event_hooks={"request": [count]})
    async with AsyncCodexManager(base_url=base_url, http_client=http) as cm:
        cm.stream.start_turns = start_turns
        stop = asyncio.Event()
        stream = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
        try:
            async with asyncio.timeout(10):
                while not cm.turns.covers("any"):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            yield cm
        finally:
            stop.set()
            await asyncio.wait_for(stream, 10)


ECHO_TOOL = {"name": "echo", "description": "Echo.", "inputSchema": {
    "type": "object", "properties": {"t": {"type": "string"}}, "required": ["t"]}}


async def _session(cm: AsyncCodexManager, **options: Any) -> str:
    created = await cm.sessions.create(**options)
    session_id: str = created["session"]["sessionId"]
    return session_id


async def _completed(cm: AsyncCodexManager, session_id: str, turn_id: str) -> Any:
    return await cm.wait.assistant_reply(session_id=session_id, turn_id=turn_id,
                                         timeout_seconds=20)


async def test_turns_go_over_the_socket_when_granted(tmp_path: Path) -> None:
    posts: list[str] = []
    with GatewayThread(data_dir=tmp_path / "gw") as gateway:
        async with _streaming(gateway.base_url, posts) as cm:
            assert cm.stream.turn_starts.available
            session_id = await _session(cm)
            for _ in range(3):
                accepted = await cm.sessions.send_message(session_id, "Say hello.")
                assert accepted == {"status": "accepted", "sessionId": session_id,
                                    "turnId": accepted["turnId"]}
                reply = await _completed(cm, session_id, accepted["turnId"])
                assert reply.assistant_reply
            # Statuses the operation takes as data come back as data, as over HTTP.
            unknown = await cm.sessions.send_message("no-such-session", "hi")
            assert unknown == {"status": "not_found", "sessionId": "no-such-session"}
            invalid = await cm.sessions.send_message(session_id, "")
            assert invalid["code"] == "invalid_request"
            # One it does not (409 busy) raises the same classified error HTTP raises: the
            # busy turn waits on a tool call nobody answers.
            waiting = await _session(cm, dynamic_tools=[ECHO_TOOL])
            busy = await cm.sessions.send_message(waiting, steps_prompt([("echo", {"t": "x"})]))
            session_id = waiting
            with pytest.raises(ApiError) as over_ws:
                await cm.sessions.send_message(session_id, "again")
            socket_posts = len(posts)
            with pytest.raises(ApiError) as over_http:
                await cm.transport.handle_request(_send_call(session_id))
            assert len(posts) == socket_posts + 1
            assert over_ws.value.details.status_code == 409 == over_http.value.details.status_code
            assert type(over_ws.value) is type(over_http.value)
            assert over_ws.value.details.response_body == over_http.value.details.response_body
            await cm.sessions.interrupt(waiting, busy["turnId"])
    assert len(posts) == 1  # only the one sent by hand over HTTP


def _send_call(session_id: str) -> Any:
    from teammesh.client.operations import OPERATIONS
    from teammesh.client.request import RequestCall

    operation = OPERATIONS["sessions.send_message"]
    return RequestCall(operation=operation.name, method="POST",
                       path=f"/sessions/{session_id}/messages", json_body={"text": "again"},
                       allow_statuses=operation.allow)


async def test_a_body_bigger_than_the_socket_takes_goes_by_http(tmp_path: Path) -> None:
    posts: list[str] = []
    limits = ServerLimits(ws_command_bytes=2048)
    with GatewayThread(data_dir=tmp_path / "gw", limits=limits) as gateway:
        async with _streaming(gateway.base_url, posts) as cm:
            session_id = await _session(cm)
            small = await cm.sessions.send_message(session_id, "Say hello.")
            await _completed(cm, session_id, small["turnId"])
            assert posts == []
            big = await cm.sessions.send_message(session_id, "Say hello. " + "x" * 4000)
            assert big["status"] == "accepted"
            assert posts == [f"/api/sessions/{session_id}/messages"]
            await _completed(cm, session_id, big["turnId"])


async def test_turns_fall_back_to_http_when_the_gateway_has_them_off(tmp_path: Path) -> None:
    posts: list[str] = []
    limits = ServerLimits(ws_extensions=False)
    with GatewayThread(data_dir=tmp_path / "gw", limits=limits) as gateway:
        async with _streaming(gateway.base_url, posts) as cm:
            assert not cm.stream.turn_starts.available
            session_id = await _session(cm)
            accepted = await cm.sessions.send_message(session_id, "Say hello.")
            assert accepted["status"] == "accepted"
            assert (await _completed(cm, session_id, accepted["turnId"])).assistant_reply
            unknown = await cm.sessions.send_message("no-such-session", "hi")
            assert unknown == {"status": "not_found", "sessionId": "no-such-session"}
    assert posts == [f"/api/sessions/{session_id}/messages",
                     "/api/sessions/no-such-session/messages"]


async def test_without_a_running_stream_turns_go_by_http(tmp_path: Path) -> None:
    posts: list[str] = []

    async def count(request: httpx.Request) -> None:
        if request.url.path.endswith("/messages"):
            posts.append(request.url.path)

    with GatewayThread(data_dir=tmp_path / "gw") as gateway:
        http = httpx.AsyncClient(base_url=gateway.base_url, event_hooks={"request": [count]})
        async with AsyncCodexManager(base_url=gateway.base_url, http_client=http) as cm:
            session_id = await _session(cm)
            accepted = await cm.sessions.send_message(session_id, "Say hello.")
            assert accepted["status"] == "accepted" and len(posts) == 1



async def test_a_client_may_keep_turns_on_http(tmp_path: Path) -> None:
    """`cm.stream.start_turns = False`: the stream does not ask for `turnStart` (the other
    extensions still), so turns go by HTTP against a gateway that would grant it."""
    posts: list[str] = []
    with GatewayThread(data_dir=tmp_path / "gw") as gateway:
        async with _streaming(gateway.base_url, posts, start_turns=False) as cm:
            assert cm.stream.answers.available and not cm.stream.turn_starts.available
            session_id = await _session(cm)
            accepted = await cm.sessions.send_message(session_id, "Say hello.")
            assert accepted["status"] == "accepted"
            await _completed(cm, session_id, accepted["turnId"])
    assert posts == [f"/api/sessions/{session_id}/messages"]
