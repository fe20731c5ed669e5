"""Bearer token: every route and the websocket handshake refuse a missing or wrong token;
a non-loopback bind without a token is refused up front."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from teammesh.gateway.embedded import GatewayThread, InsecureBindError, start_gateway

from .helpers import open_stream, ws_url

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token-for-tests"


async def test_token_guards_routes_and_stream(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path, token=TOKEN) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        good = {"Authorization": f"Bearer {TOKEN}"}
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {"Authorization": f"Basic {TOKEN}"},
        ):
            for method, path in (
                ("GET", "/api/health"),
                ("GET", "/api/sessions"),
                ("POST", "/api/sessions"),
                ("GET", "/openapi.json"),
                ("POST", "/api/tool-calls/1/response"),
                ("GET", "/nope"),
            ):
                response = await http.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers)
                assert response.json()["status"] == "error"
                assert response.json()["code"] == "unauthorized"
                assert TOKEN not in response.text
            with pytest.raises(InvalidStatus) as refused:
                await connect(ws_url(gateway.base_url), additional_headers=headers)
            assert refused.value.response.status_code == 401

        assert (await http.get("/api/health", headers=good)).status_code == 200
        created = await http.post("/api/sessions", headers=good, json={})
        assert created.status_code == 200
        socket = await open_stream(gateway.base_url, headers=good)
        await socket.close()


def test_non_loopback_bind_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(InsecureBindError, match="TEAMMESH_TOKEN"):
        GatewayThread(data_dir=tmp_path, host="0.0.0.0")
    env = {k: v for k, v in os.environ.items() if k != "TEAMMESH_TOKEN"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "teammesh",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path),
            "--no-token",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "without a token" in result.stderr
    assert result.stdout == ""


def test_gateway_thread_sync_twin(tmp_path: Path) -> None:
    with GatewayThread(data_dir=tmp_path, token=TOKEN) as gateway:
        assert gateway.base_url.startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(gateway.base_url + "/api/health", timeout=10).status_code == 401
        response = httpx.get(gateway.base_url + "/api/health", headers=headers, timeout=10)
        assert response.status_code == 200


def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with GatewayThread(data_dir=tmp_path / "a") as running:
        port = running.base_url.rsplit(":", 1)[1]
        with pytest.raises(OSError):
            GatewayThread(data_dir=tmp_path / "b", port=int(port)).start()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "teammesh",
                "serve",
                "--port",
                port,
                "--data-dir",
                str(tmp_path / "c"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 1
        assert "cannot listen" in result.stderr and "Traceback" not in result.stderr
