"""Projects and session assignments, stored for real (project_routes.py): persisted across a
restart on the same data dir, announced over a real websocket on /api/stream, upstream's
status codes and check order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway import project_routes

from .helpers import create_session, gateway_and_http, open_stream, wait_for_frame

pytestmark = pytest.mark.anyio


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _create(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = _ok(await http.post("/api/projects", json=body))
    assert answer["status"] == "ok" and answer["orchestrationSession"] is None
    project: dict[str, Any] = answer["project"]
    return project


async def test_project_lifecycle_events_and_restart(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        sid = await create_session(http)
        # A socket filtered on the session still gets the broadcast project events.
        socket = await open_stream(gateway.base_url, thread_id=sid)
        plain = await open_stream(gateway.base_url)
        try:
            alpha = await _create(http, name="  Alpha  ")
            assert set(alpha) == {"projectId", "name", "workingDirectory", "createdAt",
                                  "updatedAt"}
            assert alpha["name"] == "Alpha" and alpha["workingDirectory"] is None
            frame = await wait_for_frame(socket, "project_upserted")
            assert frame == {"type": "project_upserted", "threadId": None,
                             "payload": {"project": alpha}}
            beta = await _create(http, name="beta", workingDirectory="/srv/beta")
            await wait_for_frame(socket, "project_upserted")
            listing = _ok(await http.get("/api/projects"))["data"]
            assert [p["name"] for p in listing] == ["Alpha", "beta"]  # by name

            # Names are unique case-insensitively, on create and on rename.
            dup = await http.post("/api/projects", json={"name": "ALPHA"})
            assert dup.status_code == 409
            assert dup.json() == {"status": "duplicate_name", "projectId": alpha["projectId"]}
            dup = await http.post(f"/api/projects/{beta['projectId']}/rename",
                                  json={"name": "alpha"})
            assert dup.status_code == 409 and dup.json()["projectId"] == alpha["projectId"]

            # Rename: workingDirectory absent keeps it, null clears it; always announced.
            renamed = _ok(await http.post(f"/api/projects/{beta['projectId']}/rename",
                                          json={"name": "Gamma"}))["project"]
            assert renamed["name"] == "Gamma" and renamed["workingDirectory"] == "/srv/beta"
            assert renamed["createdAt"] == beta["createdAt"]
            frame = await wait_for_frame(socket, "project_upserted")
            assert frame["payload"]["project"] == renamed
            cleared = _ok(await http.post(f"/api/projects/{beta['projectId']}/rename",
                                          json={"name": "Gamma", "workingDirectory": None}))
            assert cleared["project"]["workingDirectory"] is None

            # Assign the session: the summary carries projectId; the event is broadcast.
            assigned = _ok(await http.post(f"/api/sessions/{sid}/project",
                                           json={"projectId": alpha["projectId"]}))
            assert assigned == {"status": "ok", "sessionId": sid,
                                "projectId": alpha["projectId"], "previousProjectId": None}
            frame = await wait_for_frame(plain, "session_project_updated")
            assert frame == {"type": "session_project_updated", "threadId": sid,
                             "payload": assigned}
            detail = _ok(await http.get(f"/api/sessions/{sid}"))
            assert detail["session"]["projectId"] == alpha["projectId"]
            listed = _ok(await http.get("/api/sessions"))["data"]
            assert [s["projectId"] for s in listed if s["sessionId"] == sid] == [
                alpha["projectId"]]

            # A project with a live session cannot be deleted.
            refused = await http.delete(f"/api/projects/{alpha['projectId']}")
            assert refused.status_code == 409
            assert refused.json() == {"status": "project_not_empty",
                                      "projectId": alpha["projectId"], "sessionCount": 1}
            agents = _ok(await http.get(f"/api/projects/{alpha['projectId']}/agent-sessions"))
            assert agents == {"status": "ok", "projectId": alpha["projectId"], "data": []}
        finally:
            await socket.close()
            await plain.close()

    # Restart on the same data dir: projects and the assignment are still there.
    async with gateway_and_http(tmp_path) as (gateway, http):
        listing = _ok(await http.get("/api/projects"))["data"]
        assert [p["name"] for p in listing] == ["Alpha", "Gamma"]
        assert listing[1]["workingDirectory"] is None
        detail = _ok(await http.get(f"/api/sessions/{sid}"))
        assert detail["session"]["projectId"] == alpha["projectId"]

        socket = await open_stream(gateway.base_url)
        try:
            moved = _ok(await http.post(f"/api/projects/{alpha['projectId']}/chats/move-all",
                                        json={"destination": "unassigned"}))
            assert moved == {"status": "ok", "projectId": alpha["projectId"],
                             "destination": "unassigned", "movedSessionCount": 1,
                             "archivedSessionCount": 0, "alreadyArchivedSessionCount": 0}
            frame = await wait_for_frame(socket, "session_project_updated")
            assert frame["threadId"] == sid
            assert frame["payload"] == {"sessionId": sid, "projectId": None}
            # Unchanged assignment: answered, no event; then a real deletion.
            same = _ok(await http.post(f"/api/sessions/{sid}/project", json={"projectId": None}))
            assert same["previousProjectId"] is None
            deleted = _ok(await http.delete(f"/api/projects/{alpha['projectId']}"))
            assert deleted == {"status": "ok", "projectId": alpha["projectId"],
                               "unassignedSessionCount": 0}
            frame = await wait_for_frame(socket, "project_deleted")
            assert frame == {"type": "project_deleted", "threadId": None,
                             "payload": {"projectId": alpha["projectId"], "sessionIds": []}}
        finally:
            await socket.close()
    async with gateway_and_http(tmp_path) as (_, http):
        assert [p["name"] for p in _ok(await http.get("/api/projects"))["data"]] == ["Gamma"]
        assert _ok(await http.get(f"/api/sessions/{sid}"))["session"]["projectId"] is None


async def test_delete_all_hard_deletes_the_projects_chats(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        project = await _create(http, name="doomed")
        pid = project["projectId"]
        sids = [await create_session(http) for _ in range(3)]
        for sid in sids[1:]:
            _ok(await http.post(f"/api/sessions/{sid}/project", json={"projectId": pid}))
        socket = await open_stream(gateway.base_url)
        try:
            # Archiving is not available here: 501 while there are chats to archive.
            archive = await http.post(f"/api/projects/{pid}/chats/move-all",
                                      json={"destination": "archive"})
            assert archive.status_code == 501, archive.text
            assert archive.json()["code"] == "method_not_supported"
            answer = _ok(await http.post(f"/api/projects/{pid}/chats/delete-all", json={}))
            assert answer == {"status": "ok", "projectId": pid, "deletedSessionCount": 2,
                              "skippedSessionCount": 0}
            seen = {(await wait_for_frame(socket, "session_deleted"))["threadId"]
                    for _ in range(2)}
            assert seen == set(sids[1:])
        finally:
            await socket.close()
        for sid in sids[1:]:
            assert (await http.get(f"/api/sessions/{sid}")).status_code == 410
        assert (await http.get(f"/api/sessions/{sids[0]}")).status_code == 200
        # Now empty: archive has nothing to do, and the project can be deleted.
        archive = _ok(await http.post(f"/api/projects/{pid}/chats/move-all",
                                      json={"destination": "archive"}))
        assert archive["movedSessionCount"] == 0
        _ok(await http.delete(f"/api/projects/{pid}"))


async def test_statuses_order_and_bad_bodies(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        gone = await create_session(http)
        _ok(await http.delete(f"/api/sessions/{gone}"))
        project = await _create(http, name="p")
        pid = project["projectId"]
        missing = {"status": "not_found", "projectId": "nope"}
        for method, path, body in (("POST", "/api/projects/nope/rename", {"name": "x"}),
                                   ("DELETE", "/api/projects/nope", None),
                                   ("GET", "/api/projects/nope/agent-sessions", None),
                                   ("POST", "/api/projects/nope/chats/move-all",
                                    {"destination": "unassigned"}),
                                   ("POST", "/api/projects/nope/chats/delete-all", {})):
            response = await http.request(method, path, json=body)
            assert response.status_code == 404, (path, response.text)
            assert response.json() == missing
        # session:<id> queue projects answer agent-sessions (upstream's own special case)
        assert _ok(await http.get(f"/api/projects/session:{sid}/agent-sessions"))["data"] == []

        for bad in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 121}, {"name": 5},
                    {"name": "ok", "workingDirectory": ""}, {"name": "ok",
                                                             "workingDirectory": 3}, []):
            for path in ("/api/projects", f"/api/projects/{pid}/rename"):
                response = await http.post(path, json=bad)
                assert response.status_code == 400, (path, bad, response.text)
                assert response.json()["code"] == "invalid_request"
        for bad in ({}, {"destination": "trash"}, {"destination": None}):
            response = await http.post(f"/api/projects/{pid}/chats/move-all", json=bad)
            assert response.status_code == 400, response.text
        bad_json = await http.post(f"/api/projects/{pid}/chats/delete-all", content=b"{",
                                   headers={"content-type": "application/json"})
        assert bad_json.status_code == 400
        assert _ok(await http.get("/api/projects"))["data"] == [project]  # nothing changed

        # S/project: 410 → 400 body → 404 project → 404 session (upstream's order).
        url = f"/api/sessions/{gone}/project"
        assert (await http.post(url, json={"projectId": "nope"})).status_code == 410
        assert (await http.post(url, json={})).status_code == 410
        url = "/api/sessions/nosuch/project"
        assert (await http.post(url, json={})).status_code == 400  # the key is required
        assert (await http.post(url, json={"projectId": 7})).status_code == 400
        response = await http.post(url, json={"projectId": "nope"})
        assert response.status_code == 404
        assert response.json() == {"status": "project_not_found", "sessionId": "nosuch",
                                   "projectId": "nope"}
        response = await http.post(url, json={"projectId": pid})
        assert response.status_code == 404
        assert response.json() == {"status": "not_found", "sessionId": "nosuch"}
        response = await http.post(f"/api/sessions/{sid}/project", json={"projectId": "nope"})
        assert response.status_code == 404 and response.json()["status"] == "project_not_found"
        assert _ok(await http.get(f"/api/sessions/{sid}"))["session"]["projectId"] is None


async def test_project_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_routes, "MAX_PROJECTS", 2)
    async with gateway_and_http(tmp_path) as (_, http):
        await _create(http, name="one")
        await _create(http, name="two")
        response = await http.post("/api/projects", json={"name": "three"})
        assert response.status_code == 413 and response.json()["code"] == "request_failed"
        assert len(_ok(await http.get("/api/projects"))["data"]) == 2
