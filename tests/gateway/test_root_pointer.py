"""`GET /` on the gateway: a small JSON pointer (what this server is, where the API and the
docs are, how to get the web board) instead of the 404 it was. Behind the same checks as
every route: with a token set no token is a 401, a foreign Host is a 403 either way, and
the pointer holds no secret (the token, the data directory)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from teammesh.gateway.embedded import start_gateway

pytestmark = pytest.mark.anyio
TOKEN = "root-pointer-s3cret"


async def test_get_root_points_to_the_api_docs_and_the_web_board(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        answer = await http.get("/")
        head = await http.head("/")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["name"] == "teammesh gateway"
    assert (body["api"], body["openapi"], body["health"]) == ("/api", "/openapi.json",
                                                              "/api/health")
    assert "docs/gateway.md" in body["docs"]
    assert "teammesh run" in body["web_board"] and "teammesh board serve" in body["web_board"]
    assert str(tmp_path) not in answer.text
    assert head.status_code == 200


async def test_root_keeps_the_token_and_host_checks(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path, token=TOKEN) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        good = {"Authorization": f"Bearer {TOKEN}"}
        refused = await http.get("/")
        wrong = await http.get("/", headers={"Authorization": "Bearer nope"})
        allowed = await http.get("/", headers=good)
        rebound = await http.get("/", headers={**good, "Host": "evil.example"})
        foreign = await http.post("/", headers={**good, "Origin": "http://evil.example"},
                                  json={})
        wrong_method = await http.post("/", headers=good, json={})
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
    assert wrong.status_code == 401
    assert allowed.status_code == 200 and allowed.json()["name"] == "teammesh gateway"
    assert TOKEN not in allowed.text and str(tmp_path) not in allowed.text
    assert (rebound.status_code, rebound.json()["code"]) == (403, "forbidden_host")
    assert (foreign.status_code, foreign.json()["code"]) == (403, "forbidden_origin")
    assert wrong_method.status_code == 405 and wrong_method.json()["status"] == "error"
