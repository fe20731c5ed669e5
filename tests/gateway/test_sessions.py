"""Session routes: create/list/get/rename/delete shapes, and 410 everywhere after delete."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.session_policy import SessionCeiling

from .helpers import WEATHER_TOOL, create_session, open_stream, send, wait_for_frame

pytestmark = pytest.mark.anyio

SUMMARY_KEYS = {
    "sessionId",
    "title",
    "materialized",
    "modelProvider",
    "approvalPolicy",
    "sessionControls",
    "createdAt",
    "updatedAt",
    "cwd",
    "source",
    "projectId",
}


async def test_create_get_rename_list(tmp_path: Path) -> None:
    # The session asks for network access, which the default ceiling refuses.
    async with (
        start_gateway(data_dir=tmp_path, ceiling=SessionCeiling(allow_network=True)) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        created = await http.post(
            "/api/sessions",
            json={
                "cwd": ".",
                "approvalPolicy": "never",
                "filesystemSandbox": "workspace-write",
                "networkAccess": "enabled",
                "dynamicTools": [WEATHER_TOOL],
            },
        )
        assert created.status_code == 200
        body = created.json()
        session = body["session"]
        assert set(session) == SUMMARY_KEYS
        assert session["title"] == "New chat" and session["materialized"] is False
        assert session["approvalPolicy"] == "never" and session["projectId"] is None
        assert session["sessionControls"] == {
            "model": None,
            "approvalPolicy": "never",
            "networkAccess": "enabled",
            "filesystemSandbox": "workspace-write",
            "settings": {},
        }
        assert isinstance(session["createdAt"], int)
        thread = body["thread"]
        assert thread["id"] == session["sessionId"] and thread["turns"] == []
        assert {"id", "preview", "modelProvider", "createdAt", "updatedAt", "cwd", "source"} <= set(
            thread
        )
        session_id = session["sessionId"]

        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert detail["transcript"] == [] and detail["thread"]["turns"] == []

        renamed = await http.post(f"/api/sessions/{session_id}/rename", json={"title": " dev "})
        assert renamed.status_code == 200
        assert renamed.json()["status"] == "ok"
        assert renamed.json()["session"]["title"] == "dev"

        others = [await create_session(http) for _ in range(2)]
        listing = (await http.get("/api/sessions")).json()
        assert listing["archived"] is False and listing["nextCursor"] is None
        assert {s["sessionId"] for s in listing["data"]} == {session_id, *others}
        page = (await http.get("/api/sessions", params={"limit": 2})).json()
        assert len(page["data"]) == 2 and page["nextCursor"] == "2"
        rest = (await http.get("/api/sessions", params={"limit": 2, "cursor": "2"})).json()
        assert len(rest["data"]) == 1 and rest["nextCursor"] is None
        archived = (await http.get("/api/sessions", params={"archived": "true"})).json()
        assert archived["data"] == [] and archived["archived"] is True


async def test_delete_gives_410_everywhere(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        session_id = await create_session(http)
        await http.post(f"/api/sessions/{session_id}/rename", json={"title": "doomed"})
        socket = await open_stream(gateway.base_url)
        await send(http, session_id)
        signal = await wait_for_frame(socket, "app_server.request.item.tool.call")
        request_id = signal["payload"]["requestId"]

        deleted = await http.delete(f"/api/sessions/{session_id}")
        assert deleted.status_code == 200
        assert deleted.json() == {
            "status": "ok",
            "sessionId": session_id,
            "title": "doomed",
            "deletedFileCount": 0,
        }
        expired = await wait_for_frame(socket, "tool_call_resolved")
        assert expired["payload"] == {
            "requestId": str(request_id),
            "status": "expired",
            "success": False,
        }
        event = await wait_for_frame(socket, "session_deleted")
        assert event["threadId"] == session_id

        base = f"/api/sessions/{session_id}"
        for response in (
            await http.get(base),
            await http.delete(base),
            await http.post(f"{base}/rename", json={"title": "again"}),
            await http.post(f"{base}/messages", json={"text": "hi"}),
            await http.post(f"{base}/messages", json={}),  # 410 comes before validation
            await http.post(f"{base}/interrupt", json={}),
            await http.get(f"{base}/approvals"),
            await http.get(f"{base}/tool-input"),
            await http.get(f"{base}/tool-calls"),
        ):
            assert response.status_code == 410, response.request.url
            body = response.json()
            assert body["status"] == "deleted" and body["sessionId"] == session_id
            assert body["title"] == "doomed" and body["deletedAt"].endswith("Z")
            assert body["message"] == (
                "This chat was permanently deleted and is no longer available."
            )
        late = await http.post(f"/api/tool-calls/{request_id}/response", json={"text": "x"})
        assert late.status_code == 404
        listing = (await http.get("/api/sessions")).json()
        assert session_id not in {s["sessionId"] for s in listing["data"]}
        await socket.close()
