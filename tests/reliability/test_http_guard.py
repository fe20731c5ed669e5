"""What a web page could do to a server on 127.0.0.1, tried against the real servers.

DNS rebinding (a foreign Host), cross-site requests and websocket hijacking (a foreign
Origin) and CORS-simple POSTs (`text/plain; charset=application/json`) must all be refused
— on every route, with or without a token — and must change nothing; what legitimate
clients send (our client, no Origin; the gateway's own origin; names and origins allowed by
flag) must keep working.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from teammesh.brain.server import start_model_server
from teammesh.client import AsyncCodexManager
from teammesh.gateway.app import ROUTES
from teammesh.gateway.embedded import start_gateway

from .procs import GatewayProcess

EVIL_HOSTS = ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}",
              "localhost:1", "127.0.0.1:{port}@evil.example", "", "[::2]:{port}"]
EVIL_ORIGINS = ["http://evil.example", "http://evil.example:{port}", "null",
                "http://localhost:8080", "https://127.0.0.1:{port}", "http://127.0.0.1:1",
                "file://", "http://127.0.0.1:{port}.evil.example"]


def _concrete(path: str) -> str:
    return (path.replace("{session_id}", "s-1").replace("{request_id}", "1")
            .replace("{approval_id}", "1"))


def raw_request(port: int, head: bytes) -> tuple[int, bytes]:
    """Send a raw request head; (status, body) of the answer. Raw, because HTTP and
    websocket clients set Host themselves and a second Host would be refused for that."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.split(b"\r\n\r\n", 1)[-1]


async def araw(port: int, head: bytes) -> tuple[int, bytes]:
    """`raw_request` off the event loop (an in-process gateway must keep serving)."""
    return await asyncio.to_thread(raw_request, port, head)


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _handshake(host: str | None, origin: str | None = None, path: str = "/api/stream") -> bytes:
    lines = [f"GET {path} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _code(body: bytes) -> str:
    return str(json.loads(body)["code"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("token", [None, "s3cret-token"])
def test_a_foreign_host_is_refused_on_every_route_and_the_stream(
    tmp_path: Path, token: str | None,
) -> None:
    with GatewayProcess(tmp_path / "gateway", token=token) as gateway:
        port = gateway.port
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        routes = [(m, _concrete(p)) for m, p, _ in ROUTES] + [("GET", "/api/nope"),
                                                              ("GET", "/")]
        for host in EVIL_HOSTS:
            host = host.format(port=port)
            for method, path in routes:
                # With a token the Host check still comes first: 403, not 401, even with
                # the right token presented.
                status, body = raw_request(port, (
                    f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
                    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}").encode())
                assert (status, _code(body)) == (403, "forbidden_host"), (host, method, path)
            status, body = raw_request(port, _handshake(host))
            assert (status, _code(body)) == (403, "forbidden_host"), host
        # Missing Host on HTTP/1.1 and a doubled Host are malformed: 400.
        status, body = raw_request(port, b"GET /api/health HTTP/1.1\r\n\r\n")
        assert (status, _code(body)) == (400, "invalid_host")
        status, body = raw_request(port, (f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}"
                                          "\r\nHost: evil.example\r\n\r\n").encode())
        assert (status, _code(body)) == (400, "invalid_host")
        status, _ = raw_request(port, _handshake(None))
        assert status == 400
        with httpx.Client(base_url=gateway.base_url, timeout=10,
                          headers={"Authorization": f"Bearer {token}"} if token else {}) as http:
            assert http.get("/api/sessions").json()["data"] == []  # nothing was created
        # Our own names answer (a token, when set, is then checked as before).
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", "127.0.0.1",
                     f"LOCALHOST:{port}"):
            status, _ = raw_request(port, f"GET /api/health HTTP/1.1\r\nHost: {host}\r\n{auth}"
                                          "\r\n".encode())
            assert status == 200, host
            if token:
                status, body = raw_request(port, f"GET /api/health HTTP/1.1\r\nHost: {host}"
                                                 "\r\n\r\n".encode())
                assert (status, _code(body)) == (401, "unauthorized")
        # HTTP/1.0 without Host: no browser sends that, so it is answered.
        status, _ = raw_request(port, f"GET /api/health HTTP/1.0\r\n{auth}\r\n".encode())
        assert status == 200


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_a_foreign_origin_changes_nothing_and_cannot_open_the_stream(
    tmp_path: Path,
) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway, \
            httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
        port = gateway.port
        session_id = (await http.post("/api/sessions", json={})).json()["session"]["sessionId"]
        writes = [("POST", "/api/sessions"), ("DELETE", f"/api/sessions/{session_id}"),
                  ("POST", f"/api/sessions/{session_id}/rename"),
                  ("POST", f"/api/sessions/{session_id}/messages"),
                  ("POST", f"/api/sessions/{session_id}/interrupt"),
                  ("POST", "/api/approvals/1/decision"), ("POST", "/api/tool-calls/1/response"),
                  ("POST", "/api/tool-input/1/decision"), ("PUT", "/api/sessions"),
                  ("PATCH", f"/api/sessions/{session_id}")]
        bodies = {"title": "pwned", "text": "hi", "decision": "accept", "success": True}
        refused = 0
        for origin in EVIL_ORIGINS:
            origin = origin.format(port=port)
            for method, path in writes:
                response = await http.request(method, path, json=bodies,
                                              headers={"Origin": origin})
                assert response.status_code == 403, (origin, method, path, response.text)
                assert response.json()["code"] == "forbidden_origin"
                refused += 1
            status, body = await araw(port, _handshake(f"127.0.0.1:{port}", origin))
            assert (status, _code(body)) == (403, "forbidden_origin"), origin
        # A request that says it is cross-site but shows no Origin is refused too.
        for site in ("cross-site", "same-site"):
            response = await http.post("/api/sessions", json={},
                                       headers={"Sec-Fetch-Site": site})
            assert response.status_code == 403 and response.json()["code"] == "forbidden_origin"
        # Nothing changed: still one session, untitled, no turn.
        sessions = (await http.get("/api/sessions")).json()["data"]
        assert [s["sessionId"] for s in sessions] == [session_id]
        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert detail["thread"]["turns"] == [] and detail["session"]["title"] != "pwned"
        # Reads carry no side effect and the browser keeps their answer from the page (no
        # CORS headers): a foreign Origin on a GET is answered.
        response = await http.get("/api/health", headers={"Origin": "http://evil.example"})
        assert response.status_code == 200 and "access-control-allow-origin" not in \
            response.headers
    print(f"\norigin: {refused} state-changing requests from foreign origins refused, "
          f"{len(EVIL_ORIGINS)} stream handshakes refused")


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_cors_simple_bodies_are_415_and_json_with_parameters_is_accepted(
    tmp_path: Path,
) -> None:
    async with start_gateway(data_dir=tmp_path) as gateway, \
            httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
        for content_type in ("text/plain; charset=application/json", "text/plain",
                             "application/x-www-form-urlencoded", "multipart/form-data",
                             "application/json; charset=latin-1", "application/jsonx",
                             "application/json-patch+json", "text/json", "application/json;x",
                             "application/json, text/plain"):
            for body in (b'{"title":"x"}', b""):
                response = await http.post("/api/sessions", content=body,
                                           headers={"Content-Type": content_type})
                assert response.status_code == 415, (content_type, body, response.text)
                assert response.json()["code"] == "request_failed"
        assert (await http.get("/api/sessions")).json()["data"] == []
        for content_type in ("application/json", "Application/JSON; charset=UTF-8",
                             'application/json; charset="utf-8"', "application/json;"):
            response = await http.post("/api/sessions", content=b"{}",
                                       headers={"Content-Type": content_type})
            assert response.status_code == 200, (content_type, response.text)


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_own_origin_allowed_names_and_clients_without_origin_work(
    tmp_path: Path,
) -> None:
    async with start_gateway(data_dir=tmp_path, allow_hosts=["gateway.test"],
                             allow_origins=["http://app.test:8080"]) as gateway, \
            httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http:
        port = gateway.port
        ws_url = gateway.base_url.replace("http://", "ws://") + "/api/stream"
        for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}",
                       f"http://[::1]:{port}", "http://app.test:8080", "HTTP://APP.TEST:8080"):
            response = await http.post("/api/sessions", json={}, headers={"Origin": origin,
                                       "Sec-Fetch-Site": "cross-site"})
            assert response.status_code == 200, (origin, response.text)
            await _ready(ws_url, {"Origin": origin})
        for host in ("gateway.test", f"gateway.test:{port}", "gateway.test:443"):
            status, _ = await araw(port, f"GET /api/health HTTP/1.1\r\nHost: {host}\r\n\r\n"
                                          .encode())
            assert status == 200, host
        status, body = await araw(port, _handshake("gateway.test", "http://app.test:8081"))
        assert (status, _code(body)) == (403, "forbidden_origin")
        # The codex-manager-style client sends no Origin: sessions and the stream work.
        async with AsyncCodexManager(base_url=gateway.base_url) as cm:
            created = await cm.sessions.create()
            assert created["session"]["sessionId"]
        await _ready(ws_url, {})


async def _ready(url: str, headers: dict[str, str]) -> None:
    async with connect(url, additional_headers=headers) as ws:
        frame: Any = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert frame["type"] == "ready"


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_the_model_server_refuses_foreign_hosts_origins_and_non_json() -> None:
    request = {"model": "playbook", "input": "hello"}
    async with start_model_server() as server, \
            start_model_server(allow_hosts=["brain.test:9"],
                               allow_origins=["http://ui.test"]) as allowing, \
            httpx.AsyncClient(timeout=10) as http:
        url = f"{server.base_url}/v1/responses"
        assert (await http.post(url, json=request)).status_code == 200
        port = int(server.base_url.rsplit(":", 1)[1])
        for host in EVIL_HOSTS[:4]:
            status, body = await araw(port, (
                f"GET /v1/models HTTP/1.1\r\nHost: {host.format(port=port)}\r\n\r\n").encode())
            assert status == 403 and json.loads(body)["error"]["code"] == "forbidden_host"
        for origin in EVIL_ORIGINS:
            response = await http.post(url, json=request,
                                       headers={"Origin": origin.format(port=port)})
            assert response.status_code == 403, origin
            assert response.json()["error"]["code"] == "forbidden_origin"
        for content_type in ("text/plain; charset=application/json", "text/plain",
                             "application/json; charset=utf-16"):
            response = await http.post(url, content=json.dumps(request).encode(),
                                       headers={"Content-Type": content_type})
            assert response.status_code == 415, content_type
            assert response.json()["error"]["type"] == "invalid_request_error"
        same = await http.post(url, json=request, headers={"Origin": server.base_url})
        assert same.status_code == 200
        allowing_port = int(allowing.base_url.rsplit(":", 1)[1])
        status, _ = await araw(allowing_port, b"GET /v1/models HTTP/1.1\r\nHost: brain.test:9"
                                               b"\r\n\r\n")
        assert status == 200
        status, _ = await araw(allowing_port, b"GET /v1/models HTTP/1.1\r\nHost: brain.test:8"
                                               b"\r\n\r\n")
        assert status == 403
        response = await http.post(f"{allowing.base_url}/v1/responses", json=request,
                                   headers={"Origin": "http://ui.test:80"})
        assert response.status_code == 200
