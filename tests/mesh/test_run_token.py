"""The gateway `teammesh run` / `teammesh demo` start for a run holds a fresh token that only
the runner has: another local process (no token, or the environment's token) gets 401 on
every route and on the websocket."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from teammesh.mesh.launch import LaunchSpec, gateway_base
from teammesh.mesh.teamfile import builtin_team

pytestmark = pytest.mark.anyio


async def test_the_embedded_gateway_of_a_run_refuses_clients_without_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CODEX_MANAGER_API_BASE", raising=False)
    # An environment token (meant for some other gateway) is no key to the run's gateway.
    monkeypatch.setenv("CODEX_MANAGER_BEARER_TOKEN", "environment-token")
    spec = LaunchSpec(team=builtin_team(), gateway_dir=str(tmp_path / "gw"))
    tokens = []
    for _ in range(2):
        async with gateway_base(spec) as access, \
                httpx.AsyncClient(base_url=access.base_url, timeout=10) as http:
            assert access.token is not None
            tokens.append(access.token)
            assert "environment-token" not in repr(access)  # nor the run token
            assert access.token not in repr(access)
            for headers in ({}, {"Authorization": "Bearer environment-token"}):
                for method, path in (("GET", "/api/sessions"), ("POST", "/api/sessions"),
                                     ("POST", "/api/tool-calls/1/response")):
                    response = await http.request(method, path, headers=headers)
                    assert response.status_code == 401, (method, path, headers)
                with pytest.raises(InvalidStatus) as refused:
                    await connect(access.base_url.replace("http", "ws") + "/api/stream",
                                  additional_headers=headers)
                assert refused.value.response.status_code == 401
            assert access.headers()["Authorization"] == f"Bearer {access.token}"
            ok = await http.get("/api/sessions", headers=access.headers())
            assert ok.status_code == 200
    assert tokens[0] != tokens[1]  # fresh per run


async def test_an_external_gateway_gets_the_environments_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEAMMESH_TOKEN", "shared-token")
    monkeypatch.delenv("CODEX_MANAGER_BEARER_TOKEN", raising=False)
    spec = LaunchSpec(team=builtin_team(), api_base="http://127.0.0.1:9")
    async with gateway_base(spec) as access:
        assert access.token is None
        assert access.headers()["Authorization"] == "Bearer shared-token"
