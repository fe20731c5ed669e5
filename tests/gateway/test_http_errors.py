"""Bad input never yields a 500: validation (400), framework errors (400/405/415), size (413),
unknown sessions and routes (404) — each in the wire's structured envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway.embedded import start_gateway
from teammesh.wire import MAX_BODY_BYTES

from .helpers import WEATHER_TOOL, create_session, send

pytestmark = pytest.mark.anyio

TOOL = WEATHER_TOOL


def _invalid(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == "invalid_request"
    assert body["message"] == "request validation failed"
    issues: list[dict[str, Any]] = body["issues"]
    assert issues and all({"code", "path", "message"} <= set(i) for i in issues)
    return issues


def _failed(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error" and body["code"] == "request_failed"
    message: str = body["message"]
    return message


async def test_body_validation_envelopes(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        issues = _invalid(await http.post("/api/sessions", json={"approvalPolicy": "sometimes"}))
        assert issues[0]["path"] == ["approvalPolicy"] and issues[0]["code"] == "invalid_value"
        bad_tool = {**TOOL, "description": "  "}
        _invalid(await http.post("/api/sessions", json={"dynamicTools": [bad_tool]}))
        issues = _invalid(
            await http.post("/api/sessions", json={"dynamicTools": [{**TOOL, "inputSchema": []}]})
        )
        assert issues[0]["path"] == ["dynamicTools", 0, "inputSchema"]
        too_many = [{**TOOL, "name": f"t{i}"} for i in range(129)]
        _invalid(await http.post("/api/sessions", json={"dynamicTools": too_many}))
        _invalid(await http.post("/api/sessions", json=[]))
        _invalid(await http.post("/api/sessions", json={"cwd": ""}))

        session_id = await create_session(http)
        base = f"/api/sessions/{session_id}"
        issues = _invalid(await http.post(f"{base}/messages", json={}))
        assert issues[0]["path"] == ["text"] and issues[0]["code"] == "invalid_type"
        _invalid(await http.post(f"{base}/messages", json={"text": "   "}))
        _invalid(await http.post(f"{base}/messages", json={"text": "hi", "effort": "max"}))
        _invalid(await http.post(f"{base}/rename", json={"title": ""}))
        _invalid(await http.post(f"{base}/rename", json={"title": "x" * 201}))
        _invalid(await http.post(f"{base}/interrupt", json={"turnId": ""}))
        _invalid(await http.post("/api/tool-calls/1/response", json={"success": "maybe"}))
        _invalid(
            await http.post(
                "/api/tool-calls/1/response", json={"contentItems": [{"type": "inputAudio"}]}
            )
        )
        _invalid(await http.post("/api/tool-input/1/decision", json={}))
        _invalid(await http.get("/api/sessions", params={"limit": "0"}))
        _invalid(await http.get("/api/sessions", params={"limit": "many"}))
        # Unknown keys are dropped, not rejected; an absent body is an empty one.
        ok = await http.post("/api/sessions", json={"surprise": True})
        assert ok.status_code == 200
        assert (await http.post("/api/sessions")).status_code == 200


async def test_framework_errors_are_structured(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        json_type = {"content-type": "application/json"}
        _failed(await http.post("/api/sessions", content=b'{"cwd":', headers=json_type), 400)
        _failed(await http.post("/api/sessions", content=b"\xff\xfe", headers=json_type), 400)
        _failed(await http.post("/api/sessions", content=b"", headers=json_type), 400)
        nan = b'{"response": NaN}'
        _failed(await http.post("/api/tool-calls/1/response", content=nan, headers=json_type), 400)
        deep = b'{"response":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        _failed(await http.post("/api/tool-calls/1/response", content=deep, headers=json_type), 400)
        message = _failed(
            await http.post(
                "/api/sessions", content=b"cwd=.", headers={"content-type": "text/plain"}
            ),
            415,
        )
        assert "text/plain" in message
        # The media type itself must be application/json: no substring match, no other
        # charset, not even for an empty body (a CORS-simple POST from any web page).
        for content_type in ("text/plain; charset=application/json",
                             "application/json; charset=iso-8859-1", "application/jsonp"):
            for body in (b"{}", b""):
                _failed(await http.post("/api/sessions", content=body,
                                        headers={"content-type": content_type}), 415)
        ok = await http.post("/api/sessions", content=b"{}",
                             headers={"content-type": "Application/Json; Charset=UTF-8"})
        assert ok.status_code == 200
        _failed(await http.post("/api/sessions", content=b"{}"), 415)  # a body needs a type
        message = _failed(await http.get("/api/nope"), 404)
        assert message == "Route GET:/api/nope not found"
        _failed(await http.get("/nope"), 404)  # `/` itself answers a pointer (test_root_pointer)
        _failed(await http.put("/api/sessions"), 405)
        _failed(await http.delete("/api/health"), 405)


async def test_oversized_bodies_are_413(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        big = b'{"text":"' + b"x" * MAX_BODY_BYTES + b'"}'
        json_type = {"content-type": "application/json"}
        _failed(await http.post("/api/sessions", content=big, headers=json_type), 413)

        async def chunks() -> AsyncIterator[bytes]:
            # No content-length: the limit must hold while streaming.
            yield b'{"text":"'
            for _ in range(MAX_BODY_BYTES // 65536 + 2):
                yield b"y" * 65536
            yield b'"}'

        response = await http.post(
            "/api/tool-calls/1/response", content=chunks(), headers=json_type
        )
        _failed(response, 413)
        # The server is fine afterwards.
        assert (await http.get("/api/health")).status_code == 200


async def test_unknown_sessions(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        missing = {"status": "not_found", "sessionId": "nope"}
        base = "/api/sessions/nope"
        for response in (
            await http.get(base),
            await http.delete(base),
            await http.post(f"{base}/rename", json={"title": "t"}),
            await http.post(f"{base}/messages", json={"text": "hi"}),
            await http.post(f"{base}/interrupt", json={}),
        ):
            assert response.status_code == 404, response.text
            assert response.json() == missing
        # The pending listings answer an empty list for unknown ids, as upstream does
        # (clients poll them and only accept a `data` list).
        for listing in ("approvals", "tool-input", "tool-calls"):
            response = await http.get(f"{base}/{listing}")
            assert response.status_code == 200 and response.json() == {"data": []}


async def test_second_message_while_running_is_409(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        session_id = await create_session(http)
        await send(http, session_id)
        response = await http.post(f"/api/sessions/{session_id}/messages", json={"text": "more"})
        assert response.status_code == 409
        body = response.json()
        assert body["status"] == "error" and body["code"] == "invalid_state"
        assert body["details"] == {"method": "turn/start", "sessionId": session_id}


async def test_runtime_selection_by_model(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        for model in ("playbook", "playbook:brain-v1", "playbook?think_ms=1", "gpt-anything"):
            response = await http.post("/api/sessions", json={"model": model})
            assert response.status_code == 200, (model, response.text)
        chosen = await http.post("/api/sessions", json={"model": "playbook:brain-v1"})
        assert chosen.json()["session"]["sessionControls"]["model"] == "brain-v1"
        response = await http.post("/api/sessions", json={"model": "playbook?bogus=1"})
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_request"


async def test_info_health_and_openapi(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        info = (await http.get("/api")).json()
        assert info["name"] == "Codex Manager API" and info["version"] == "0.1.0"
        health = (await http.get("/api/health")).json()
        assert {"status", "service", "timestamp", "codex", "auth"} <= set(health)
        assert health["status"] == "ok" and health["service"] == "api"
        spec = (await http.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.")
        paths = spec["paths"]
        for path, method in [
            ("/api/health", "get"),
            ("/api", "get"),
            ("/api/sessions", "get"),
            ("/api/sessions", "post"),
            ("/api/sessions/{sessionId}", "get"),
            ("/api/sessions/{sessionId}", "delete"),
            ("/api/sessions/{sessionId}/rename", "post"),
            ("/api/sessions/{sessionId}/messages", "post"),
            ("/api/sessions/{sessionId}/interrupt", "post"),
            ("/api/sessions/{sessionId}/approvals", "get"),
            ("/api/sessions/{sessionId}/tool-input", "get"),
            ("/api/sessions/{sessionId}/tool-calls", "get"),
            ("/api/approvals/{approvalId}/decision", "post"),
            ("/api/tool-calls/{requestId}/response", "post"),
            ("/api/tool-input/{requestId}/decision", "post"),
            ("/api/stream", "get"),
        ]:
            assert method in paths.get(path, {}), (path, method)
        schemas = spec["components"]["schemas"]
        assert schemas["SendMessageBody"]["required"] == ["text"]
        assert "dynamicTools" in schemas["CreateSessionBody"]["properties"]
        body_ref = paths["/api/tool-calls/{requestId}/response"]["post"]["requestBody"]
        ref = body_ref["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ToolCallResponseBody"


async def test_no_client_mistake_is_a_500(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        session_id = await create_session(http)
        bodies = [
            b"",
            b"null",
            b"[]",
            b"0",
            b'"x"',
            b"{}",
            b'{"text": 5, "title": []}',
            b'{"decision": null, "response": {"a": 1}}',
            b"\x00\x01",
            b"{" * 50,
        ]
        content_types = [None, "application/json", "text/plain", "application/json; charset=x"]
        routes = [
            "/api/sessions",
            f"/api/sessions/{session_id}/rename",
            f"/api/sessions/{session_id}/interrupt",
            "/api/sessions/unknown/messages",
            "/api/tool-calls/1/response",
            "/api/tool-calls/%20/response",
            "/api/approvals/x/decision",
            "/api/tool-input/99/decision",
        ]
        for route in routes:
            for body in bodies:
                for content_type in content_types:
                    headers = {"content-type": content_type} if content_type else {}
                    response = await http.post(route, content=body, headers=headers)
                    assert response.status_code < 500, (route, body, content_type)
                    assert isinstance(response.json(), dict)


async def test_non_ascii_digits_are_not_numbers(tmp_path: Path) -> None:
    """`"6²".isdigit()` is true but `int("6²")` raises: ids, cursors and option values made
    of Unicode digits are client mistakes (404 / ignored / 400), never a 500."""
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        for path, body in (("/api/approvals/6²/decision", {"decision": "accept"}),
                           ("/api/tool-calls/6²/response", {"text": "x"}),
                           ("/api/tool-input/٣/decision", {"decision": "accept"})):
            response = await http.post(path, json=body)
            assert response.status_code == 404, (path, response.text)
        assert (await http.get("/api/sessions", params={"cursor": "6²"})).status_code == 200
        response = await http.post("/api/sessions", json={"model": "playbook?think_ms=²"})
        assert response.status_code == 400, response.text
