"""The codex runtime starts with the gateway (health says initialized before any session, or
why it could not start), and sends the model its model server lists when the operator named
none (not `playbook` to a server that does not serve it)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from teammesh.brain.server import ModelServerThread, create_app
from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.codex_model_pick import first_served_model
from teammesh.gateway.runtimes.registry import RuntimeSettings
from tests.runtimes.loopback_app import loopback_socket, serving

from .wire_helpers import (
    ECHO_TOOL,
    EventStream,
    answer_tool_call,
    create_session,
    echo_prompt,
    send_message,
)

pytestmark = [pytest.mark.codex, pytest.mark.anyio]

HOUSE_MODEL = "house-model-7"


async def _health_until(http: httpx.AsyncClient, done: Any) -> dict[str, Any]:
    """Health, polled until `done(codex entry)` (a turn of codex start is ~0.2 s)."""
    seen: list[str] = []
    async with asyncio.timeout(30):
        while True:
            codex: dict[str, Any] = (await http.get("/api/health")).json()["codex"]
            seen.append(codex["state"])
            if done(codex):
                return codex
            assert codex["state"] in ("initializing", "initialized"), (codex, seen)
            await asyncio.sleep(0.02)


async def test_health_reports_codex_initialized_before_any_session(
    codex_bin: Path, codex_data_dir: Path
) -> None:
    data = codex_data_dir / "eager"
    with ModelServerThread() as model:
        settings = RuntimeSettings(data_dir=data, codex_bin=str(codex_bin),
                                   model_base_url=f"{model.base_url}/v1")
        async with (
            start_gateway(data_dir=data, runtime="codex", settings=settings) as gateway,
            httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http,
        ):
            codex = await _health_until(http, lambda c: c["initialized"])
            assert codex["running"] is True and codex["state"] == "initialized"
            assert isinstance(codex["pid"], int) and codex["pid"] > 0
            assert (await http.get("/api/sessions")).json()["data"] == []


async def test_a_codex_that_cannot_start_is_reported_in_health(
    codex_data_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "codex"
    broken.write_text("#!/bin/sh\necho 'broken codex: no app-server here' >&2\nexit 3\n")
    broken.chmod(0o755)
    data = codex_data_dir / "broken"
    settings = RuntimeSettings(data_dir=data, codex_bin=str(broken),
                               model_base_url="http://127.0.0.1:9/v1")
    async with (
        start_gateway(data_dir=data, runtime="codex", settings=settings) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http,
    ):
        codex = await _health_until(http, lambda c: c["state"] == "failed")
        assert codex["running"] is False and codex["initialized"] is False
        assert "broken codex: no app-server here" in codex["error"]
        # The gateway still serves, and a session gets the same reason, structured.
        response = await http.post("/api/sessions", json={})
        assert response.status_code == 503, response.text
        assert "broken codex" in response.json()["message"]


class _Recorder:
    """ASGI wrapper that keeps the `model` of every Responses request it passes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.models: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).endswith("/responses"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        self.models.append(json.loads(body).get("model"))
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _house_listing(_: Request) -> Response:
    return JSONResponse({"object": "list", "data": [
        {"id": HOUSE_MODEL, "object": "model"}, {"id": "playbook", "object": "model"}]})


async def _house_server() -> AsyncIterator[tuple[str, _Recorder]]:
    """The playbook brain behind a listing whose first model is not `playbook`."""
    recorder = _Recorder(create_app())
    app = Starlette(routes=[Route("/v1/models", _house_listing), Mount("/", app=recorder)])
    sock = loopback_socket()
    async with serving(app, sock):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1", recorder


async def test_codex_sends_the_model_its_server_lists_first(
    codex_bin: Path, codex_data_dir: Path
) -> None:
    data = codex_data_dir / "house"
    workspace = codex_data_dir / "house-workspace"
    workspace.mkdir()
    async for base_url, recorder in _house_server():
        assert await first_served_model(base_url) == HOUSE_MODEL
        settings = RuntimeSettings(data_dir=data, codex_bin=str(codex_bin),
                                   model_base_url=base_url)
        async with (
            start_gateway(data_dir=data, runtime="codex", settings=settings) as gateway,
            httpx.AsyncClient(base_url=gateway.base_url, timeout=30) as http,
        ):
            session_id = await create_session(http, cwd=str(workspace),
                                              approvalPolicy="never", dynamicTools=[ECHO_TOOL])
            async with EventStream(gateway.base_url, session_id) as events:
                turn_id = await send_message(http, session_id, echo_prompt(5))
                call = await events.event("app_server.request.item.tool.call")
                answered = await answer_tool_call(http, str(call["payload"]["requestId"]), "5")
                assert answered.status_code == 200, answered.text
                await events.turn_completed(turn_id)
        assert recorder.models and set(recorder.models) == {HOUSE_MODEL}
        config = (data / "codex" / "home" / "config.toml").read_text()
        assert f'model = "{HOUSE_MODEL}"' in config


async def test_a_dead_or_garbled_listing_picks_no_model(
    tmp_path: Path,
) -> None:
    assert await first_served_model("http://127.0.0.1:9/v1") is None  # nothing listens
    async def garbage(_: Request) -> Response:
        return Response("not json", media_type="text/plain")

    sock = loopback_socket()
    app = Starlette(routes=[Route("/v1/models", garbage)])
    async with serving(app, sock):
        assert await first_served_model(f"http://127.0.0.1:{sock.getsockname()[1]}/v1") is None


async def test_a_redirecting_listing_is_not_followed_with_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str | None] = []

    async def elsewhere(request: Request) -> Response:
        seen.append(request.headers.get("authorization"))
        return JSONResponse({"data": [{"id": "stolen"}]})

    target_sock = loopback_socket()
    target = f"http://127.0.0.1:{target_sock.getsockname()[1]}"

    async def redirect(_: Request) -> Response:
        return Response(status_code=307, headers={"location": f"{target}/v1/models"})

    monkeypatch.setenv("TEAMMESH_TEST_LISTING_KEY", "sk-secret")
    sock = loopback_socket()
    async with (
        serving(Starlette(routes=[Route("/v1/models", elsewhere)]), target_sock),
        serving(Starlette(routes=[Route("/v1/models", redirect)]), sock),
    ):
        base = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        assert await first_served_model(base, "TEAMMESH_TEST_LISTING_KEY") is None
    assert seen == []
