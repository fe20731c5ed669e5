"""The rest of codex-manager's surface on the codex runtime, against the real app-server:
the forwarded read-only methods answer codex's own data, everything else is a 501 that says
the gateway does not map it yet, and `GET /api/capabilities` says exactly that."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.upstream_routes import ROUTES

from .stack import Stack, codex_stack, echo_session

pytestmark = [pytest.mark.codex, pytest.mark.anyio]


@pytest.fixture(scope="module")
def stack(codex_bin: Path, codex_data_dir: Path) -> Iterator[Stack]:
    with (
        ModelServerThread() as model,
        codex_stack(codex_bin, codex_data_dir, model_base_url=f"{model.base_url}/v1") as stack,
    ):
        yield stack


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
                assert "does not map" in response.json()["message"]


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
