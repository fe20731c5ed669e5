"""The rest of codex-manager's surface on the codex runtime, against the real app-server:
the forwarded read-only methods answer codex's own data (secrets redacted, a client's cwd
inside the ceiling), the refused ones are a 501 that says the policy, the rest a 501 that
says the gateway does not map it yet, and `GET /api/capabilities` says exactly that."""

from __future__ import annotations

import re

import httpx
import pytest

from teammesh.gateway.upstream_routes import ROUTES

from .stack import Stack, echo_session

pytestmark = [pytest.mark.codex, pytest.mark.anyio]


async def test_forwarded_lists_are_codexs_own(http: httpx.AsyncClient) -> None:
    models = await http.get("/api/models", params={"limit": "5"})
    assert models.status_code == 200, models.text
    data = models.json()["data"]
    assert data and all(isinstance(m["id"], str) and "displayName" in m for m in data)
    features = await http.get("/api/features/experimental", params={"limit": "2"})
    assert features.status_code == 200, features.text
    assert 1 <= len(features.json()["data"]) <= 2
    assert all("name" in f and "stage" in f for f in features.json()["data"])
    modes = await http.get("/api/collaboration/modes")
    assert modes.status_code == 200, modes.text
    assert set(modes.json()) == {"data", "nextCursor"}
    assert {m["mode"] for m in modes.json()["data"]} >= {"default"}
    # upstream's query rules hold before anything reaches codex
    assert (await http.get("/api/models", params={"limit": "0"})).status_code == 400


async def test_capabilities_match_what_answers(http: httpx.AsyncClient, stack: Stack) -> None:
    session_id = await echo_session(http, stack)
    caps = (await http.get("/api/capabilities", params={"refresh": "true"})).json()
    assert caps["runtime"]["name"] == "codex" and caps["runtime"]["initialized"] is True
    assert caps["methods"]["experimentalFeature/list"] == "available"
    assert caps["methods"]["collaborationMode/list"] == "available"
    assert caps["features"]["experimentalFeatures"] is True
    assert caps["features"]["collaborationModes"] is True
    assert caps["methods"]["thread/fork"] == "available"  # forwarded (session_actions.py)
    assert caps["features"]["threadFork"] is True and caps["features"]["turnSteer"] is True
    assert caps["features"]["threadCompact"] is True and caps["features"]["reviewStart"]
    rollback = "thread/rollback"
    assert caps["methods"][rollback] == "disabled"
    assert caps["features"]["threadRollback"] is False
    assert f"does not map {rollback}" in caps["details"][rollback]["reason"]
    # every route behind a probed method: available ⇔ not a 501
    values = {"sessionId": session_id, "turnId": "t", "serverName": "s"}
    for method, status in caps["methods"].items():
        for route in (r for r in ROUTES if r.app_server == method):
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route.path)
            body = {} if route.method == "POST" else None
            response = await http.request(route.method, path, json=body)
            if status == "available":  # a dummy body or no running turn may refuse it
                assert response.status_code != 501, (method, response.text)
                assert response.status_code < 500, (method, response.text)
            elif response.status_code != 400:  # a dummy body may fail validation first
                assert response.status_code == 501, (method, response.text)
                message = response.json()["message"]
                assert "does not map" in message or "refused by policy" in message


async def test_session_actions_say_they_are_not_mapped(http: httpx.AsyncClient,
                                                       stack: Stack) -> None:
    session_id = await echo_session(http, stack)
    response = await http.post(f"/api/sessions/{session_id}/resume", json={})
    assert response.status_code == 501, response.text
    body = response.json()
    assert body["code"] == "method_not_supported"
    assert body["details"] == {"method": "thread/resume", "sessionId": session_id}
    assert body["message"] == ("method not found: the gateway does not map "
                               "thread/resume to the codex runtime yet")


async def test_read_only_rows_forward_codexs_answers(http: httpx.AsyncClient,
                                                    stack: Stack) -> None:
    """Rows 8, 9, 10, 16, 20, 22: each one app-server call, codex's own answer."""
    mcp = await http.get("/api/mcp/servers", params={"limit": "5"})
    assert mcp.status_code == 200, mcp.text
    assert mcp.json() == {"data": [], "nextCursor": None}  # the private CODEX_HOME has none
    apps = await http.get("/api/apps", params={"limit": "5", "forceRefetch": "true"})
    assert apps.status_code == 200, apps.text
    assert isinstance(apps.json()["data"], list) and "nextCursor" in apps.json()
    skills = await http.get("/api/skills", params={"cwd": str(stack.workspace)})
    assert skills.status_code == 200, skills.text
    assert set(skills.json()) == {"data", "nextCursor"}
    (entry,) = skills.json()["data"]
    assert entry["cwd"] == str(stack.workspace)
    assert all(isinstance(s["name"], str) and "path" in s for s in entry["skills"])
    account = await http.get("/api/account")
    assert account.status_code == 200, account.text
    assert account.json()["account"] is None and account.json()["requiresOpenaiAuth"] is False
    requirements = await http.get("/api/config/requirements")
    assert requirements.status_code == 200, requirements.text
    assert "requirements" in requirements.json()
    # No account: codex answers -32600 "authentication required". Upstream's mapping
    # (wire §2.4: `rpc error -32600` before `authentication required`) would make it a 409;
    # the gateway answers the 401 its client's allow-list and smoke script expect.
    limits = await http.get("/api/account/rate-limits")
    assert limits.status_code == 401, limits.text
    assert limits.json()["code"] == "auth_required"
    assert "authentication required" in limits.json()["message"]
    assert limits.json()["details"] == {"method": "account/rateLimits/read"}


async def test_a_clients_cwd_stays_inside_the_ceiling(http: httpx.AsyncClient) -> None:
    """codex reads `.codex/` and skill folders under the cwd it is given: a client may only
    name one the session ceiling admits (as for a session's cwd)."""
    for path in ("/api/skills", "/api/config"):
        outside = await http.get(path, params={"cwd": "/etc"})
        assert outside.status_code == 403, outside.text
        assert outside.json()["code"] == "forbidden"
        missing = await http.get(path, params={"cwd": "no/such/dir"})
        assert missing.status_code == 400, missing.text
        assert (await http.get(path, params={"cwd": ""})).status_code == 400


async def test_config_read_redacts_secrets(http: httpx.AsyncClient, stack: Stack) -> None:
    """A project layer's secrets reach `config/read`'s `layers` verbatim from codex (even a
    layer codex disables as untrusted): the gateway answers them redacted, names kept."""
    project = stack.workspace / "leaky"
    (project / ".codex").mkdir(parents=True)
    (project / ".codex" / "config.toml").write_text(
        '[mcp_servers.tool]\ncommand = "/bin/true"\nenv = { MCP_PASS = "env-sekrit-555" }\n'
        '[shell_environment_policy]\nset = { DB_PASS = "set-sekrit-333" }\n'
    )
    response = await http.get("/api/config", params={"cwd": str(project),
                                                     "includeLayers": "true"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "sekrit" not in response.text
    assert body["config"]["model_provider"] == "teammesh"
    layer = next(la for la in body["layers"] if la["name"]["type"] == "project")
    assert layer["config"]["mcp_servers"]["tool"] == {"command": "/bin/true",
                                                      "env": {"MCP_PASS": "[redacted]"}}
    assert layer["config"]["shell_environment_policy"]["set"] == {"DB_PASS": "[redacted]"}
    plain = await http.get("/api/config")
    assert plain.status_code == 200, plain.text
    assert plain.json().get("layers") is None  # includeLayers defaults to false
