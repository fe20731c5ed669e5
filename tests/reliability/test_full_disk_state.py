"""A full disk under a real gateway, for the state codex-manager keeps itself: projects,
session assignments, supplemental transcript rows and suggested requests are each either
acknowledged (200) and there after a restart on the same data dir, or refused with 507
`insufficient_storage` and not there — in memory or on disk. (Same tmpfs set-up as
test_full_disk.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from .procs import GatewayProcess
from .test_full_disk import fill, refused_507, small_disk

__all__ = ["small_disk"]  # the fixture, used by name


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _row(message_id: str) -> dict[str, Any]:
    return {"messageId": message_id, "turnId": "agent", "role": "system", "type": "note",
            "content": "x" * 2000, "status": "complete"}


def _state(http: httpx.Client, sid: str) -> tuple[set[str], str | None, set[str]]:
    names = {p["name"] for p in _ok(http.get("/api/projects"))["data"]}
    detail = _ok(http.get(f"/api/sessions/{sid}"))
    rows = {e["messageId"] for e in detail["transcript"]}
    return names, detail["session"]["projectId"], rows


def test_full_disk_state_routes_never_acknowledge_what_was_not_written(
    small_disk: Path,
) -> None:
    gateway = GatewayProcess(data_dir=small_disk / "gateway")
    gateway.start()
    names: set[str] = set()  # acknowledged project names
    rows: set[str] = set()  # acknowledged transcript rows
    suggestions: dict[str, str] = {}  # acknowledged suggested requests: key -> status
    statuses: list[int] = []
    try:
        with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
            sid = str(_ok(http.post("/api/sessions", json={}))["session"]["sessionId"])
            home = _ok(http.post("/api/projects", json={"name": "home"}))["project"]
            names.add("home")
            project_id: str | None = None
            filler = fill(small_disk)
            for index in range(6):
                response = http.post("/api/projects", json={"name": f"full-{index}"})
                statuses.append(response.status_code)
                if response.status_code == 200:
                    names.add(f"full-{index}")
                else:
                    assert refused_507(response), response.text
                wanted = None if project_id else home["projectId"]
                response = http.post(f"/api/sessions/{sid}/project",
                                     json={"projectId": wanted})
                statuses.append(response.status_code)
                if response.status_code == 200:
                    project_id = wanted
                else:
                    assert refused_507(response), response.text
                response = http.post(f"/api/sessions/{sid}/transcript/upsert",
                                     json=_row(f"row-{index}"))
                statuses.append(response.status_code)
                if response.status_code == 200:
                    rows.add(f"row-{index}")
                else:
                    assert refused_507(response), response.text
                response = http.post(f"/api/sessions/{sid}/suggested-request/upsert",
                                     json={"requestKey": f"k{index}", "status": "error"})
                statuses.append(response.status_code)
                if response.status_code == 200:
                    suggestions[f"k{index}"] = "error"
                else:
                    assert refused_507(response), response.text
                # Refused or not, memory says exactly what the disk holds.
                assert _state(http, sid) == (names, project_id, rows)
            assert 507 in statuses, statuses  # it was full
            filler.unlink()
        gateway.stop()

        gateway.start()
        with httpx.Client(base_url=gateway.base_url, timeout=30) as http:
            assert _state(http, sid) == (names, project_id, rows), statuses
            for index in range(6):  # a streaming report answers the stored entry, if any
                entry = _ok(http.post(f"/api/sessions/{sid}/suggested-request/upsert",
                                      json={"requestKey": f"k{index}",
                                            "status": "streaming"}))["entry"]
                assert entry["status"] == suggestions.get(f"k{index}", "streaming"), statuses
    finally:
        gateway.stop()
