"""Stopping the gateway is clean: every open websocket is closed with 1001 (going away) by
the gateway itself, not left to the server's 1012, and the stop returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from teammesh.gateway.embedded import start_gateway

pytestmark = pytest.mark.anyio


async def test_open_websockets_are_closed_with_going_away(tmp_path: Path) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway:
        url = gateway.base_url.replace("http://", "ws://") + "/api/stream"
        sockets = [await connect(url) for _ in range(3)]
        for ws in sockets:
            assert json.loads(await ws.recv())["type"] == "ready"
    for ws in sockets:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
