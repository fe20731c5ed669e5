"""Bearer tokens (env, static headers, header provider) against a token-protected gateway,
and client plugins."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from teammesh.client import (
    AsyncCodexManager,
    AuthError,
    RequestCall,
    StreamContext,
    StreamEvent,
)
from teammesh.gateway.embedded import GatewayThread

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[GatewayThread]:
    with GatewayThread(data_dir=tmp_path / "gw", token=TOKEN) as running:
        yield running


async def test_missing_token_is_an_auth_error(guarded: GatewayThread) -> None:
    async with AsyncCodexManager(base_url=guarded.base_url) as cm:
        with pytest.raises(AuthError) as caught:
            await cm.system.health()
        assert caught.value.details.status_code == 401
        assert caught.value.details.response_body["code"] == "unauthorized"


async def test_token_from_env_reaches_http_and_websocket(
    guarded: GatewayThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_MANAGER_API_BASE", guarded.base_url)
    monkeypatch.setenv("CODEX_MANAGER_BEARER_TOKEN", TOKEN)
    async with AsyncCodexManager.from_env() as cm:
        assert (await cm.system.health())["status"] == "ok"
        await _stream_connects(cm)


async def test_header_provider_reaches_http_and_websocket(guarded: GatewayThread) -> None:
    class Token:
        async def headers(self) -> dict[str, str]:
            return {"Authorization": f"Bearer {TOKEN}"}

    async with AsyncCodexManager(base_url=guarded.base_url, header_provider=Token()) as cm:
        assert (await cm.system.health())["status"] == "ok"
        await _stream_connects(cm)


async def _stream_connects(cm: AsyncCodexManager) -> None:
    ready = asyncio.Event()

    @cm.on_event("ready")
    def on_ready(event: StreamEvent, ctx: StreamContext) -> None:
        ready.set()

    stop = asyncio.Event()
    task = asyncio.create_task(cm.stream.run_forever(stop_event=stop))
    try:
        await asyncio.wait_for(ready.wait(), 10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_plugins_register_start_and_stop_in_order(guarded: GatewayThread) -> None:
    log: list[str] = []

    class Plugin:
        def __init__(self, name: str) -> None:
            self.name = name

        def register(self, client: Any) -> None:
            log.append(f"register {self.name}")

            def tag(call: RequestCall) -> None:
                call.headers["Authorization"] = f"Bearer {TOKEN}"

            client.before("system.health")(tag)

        async def start(self) -> None:
            log.append(f"start {self.name}")

        def stop(self) -> None:
            log.append(f"stop {self.name}")
            raise RuntimeError("stop errors are swallowed")

    async with AsyncCodexManager(
        base_url=guarded.base_url, plugins=[Plugin("a"), Plugin("b")]
    ) as cm:
        # The plugin's hook adds the token.
        assert (await cm.system.health())["status"] == "ok"
    assert log == [
        "register a",
        "register b",
        "start a",
        "start b",
        "stop b",
        "stop a",
    ]
