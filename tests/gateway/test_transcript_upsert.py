"""`POST S/transcript/upsert` and `POST S/suggested-request/upsert`, stored for real:
merged as upstream merges supplemental rows, persisted across a restart, announced over a
real websocket, upstream's check order and bad bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway import transcript_upsert

from .helpers import (
    create_session,
    gateway_and_http,
    open_stream,
    send,
    turn_status,
    wait_for_frame,
)

pytestmark = pytest.mark.anyio


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "ok", body
    return body


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"messageId": "note-1", "turnId": "agent-1", "role": "system",
                           "type": "agent.note", "content": "working", "status": "streaming"}
    row.update(changes)
    return row


def _rows(detail: dict[str, Any], message_id: str) -> list[dict[str, Any]]:
    return [e for e in detail["transcript"] if e["messageId"] == message_id]


async def test_transcript_rows_merge_persist_and_announce(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        sid = await create_session(http)
        other = await create_session(http)
        url = f"/api/sessions/{sid}/transcript/upsert"
        socket = await open_stream(gateway.base_url, thread_id=sid)
        elsewhere = await open_stream(gateway.base_url, thread_id=other)
        try:
            body = _ok(await http.post(url, json=_row(details=None, startedAt=5)))
            entry = body["entry"]
            assert body["sessionId"] == sid
            assert entry == {"messageId": "note-1", "turnId": "agent-1", "role": "system",
                             "type": "agent.note", "content": "working",
                             "status": "streaming", "startedAt": 5}  # null details dropped
            frame = await wait_for_frame(socket, "transcript_updated")
            assert frame == {"type": "transcript_updated", "threadId": sid,
                             "payload": {"threadId": sid, "turnId": "agent-1",
                                         "messageId": "note-1", "type": "agent.note",
                                         "entry": entry}}
            # Longer content wins; status moves up; completedAt is taken.
            entry = _ok(await http.post(url, json=_row(content="working on it",
                                                        status="complete",
                                                        completedAt=9)))["entry"]
            assert (entry["content"], entry["status"], entry["completedAt"]) == (
                "working on it", "complete", 9)
            # A terminal row never regresses to streaming; a shorter text does not win.
            entry = _ok(await http.post(url, json=_row(content="w")))["entry"]
            assert entry["status"] == "complete" and entry["content"] == "working on it"
            entry = _ok(await http.post(url, json=_row(status="error",
                                                        details="boom")))["entry"]
            assert entry["status"] == "error" and entry["details"] == "boom"
            # Empty content is allowed; another row of the same turn is its own row.
            _ok(await http.post(url, json=_row(messageId="note-2", content="",
                                               status="complete")))
            # A streaming row of a turn that already completed reads as complete.
            turn = await send(http, sid, "hello")
            await turn_status(http, sid, turn)
            late = _ok(await http.post(url, json=_row(messageId="late", turnId=turn)))
            assert late["entry"]["status"] == "complete"
            # The other session's filtered socket saw none of it (not broadcast).
            _ok(await http.post(f"/api/sessions/{other}/transcript/upsert",
                                json=_row(messageId="mine")))
            frame = await wait_for_frame(elsewhere, "transcript_updated")
            assert frame["threadId"] == other and frame["payload"]["messageId"] == "mine"
        finally:
            await socket.close()
            await elsewhere.close()
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert len(_rows(detail, "note-1")) == 1
    async with gateway_and_http(tmp_path) as (_, http):  # a restart on the same data dir
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        (row,) = _rows(detail, "note-1")
        assert row == {"messageId": "note-1", "turnId": "agent-1", "role": "system",
                       "type": "agent.note", "content": "working on it", "status": "error",
                       "details": "boom", "startedAt": 5, "completedAt": 9}
        assert _rows(detail, "note-2")[0]["content"] == ""
        assert _rows(detail, "late")[0]["status"] == "complete"
        # The turn's own assistant reply is still there, and still the last complete one.
        assert any(e["role"] == "assistant" and e["turnId"] == turn
                   for e in detail["transcript"])


async def test_transcript_upsert_order_and_bad_bodies(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        gone = await create_session(http)
        _ok(await http.delete(f"/api/sessions/{gone}"))
        # 410 → 404 → body: a bad body on a deleted or unknown session is 410 / 404.
        for target, status in ((gone, 410), ("nosuch", 404)):
            url = f"/api/sessions/{target}/transcript/upsert"
            assert (await http.post(url, json=[])).status_code == status
            assert (await http.post(url, json=_row())).status_code == status
        url = f"/api/sessions/{sid}/transcript/upsert"
        required = ("messageId", "turnId", "role", "type", "content", "status")
        bad_rows = [{k: v for k, v in _row().items() if k != key} for key in required]
        bad_rows += [_row(role="tool"), _row(status="done"), _row(content=None),
                     _row(content=3), _row(messageId="  "), _row(startedAt=-1),
                     _row(completedAt="9"), _row(details=5), _row(startedAt=1.5), []]
        for bad in bad_rows:
            response = await http.post(url, json=bad)
            assert response.status_code == 400, (bad, response.text)
            assert response.json()["code"] == "invalid_request"
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert _rows(detail, "note-1") == []


async def test_suggested_request_upsert(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        sid = await create_session(http)
        url = f"/api/sessions/{sid}/suggested-request/upsert"
        socket = await open_stream(gateway.base_url, thread_id=sid)
        try:
            body = _ok(await http.post(url, json={"requestKey": "rk", "status": "streaming",
                                                  "suggestion": "Run the"}))
            assert body["sessionId"] == sid and body["requestKey"] == "rk"
            assert body["entry"]["status"] == "streaming"
            assert body["entry"]["suggestion"] == "Run the"
            assert isinstance(body["entry"]["updatedAt"], int)
            frame = await wait_for_frame(socket, "suggested_request_updated")
            assert frame == {"type": "suggested_request_updated", "threadId": sid,
                             "payload": {"sessionId": sid, "requestKey": "rk",
                                         "status": "streaming", "suggestion": "Run the"}}
            done = _ok(await http.post(url, json={"requestKey": "rk", "status": "complete",
                                                  "suggestion": "Run the tests"}))
            frame = await wait_for_frame(socket, "suggested_request_updated")
            assert frame["payload"]["status"] == "complete"
            # streaming after a terminal status: the old entry, no event
            late = _ok(await http.post(url, json={"requestKey": "rk", "status": "streaming",
                                                  "suggestion": "x"}))
            assert late["entry"] == done["entry"]
            failed = _ok(await http.post(url, json={"requestKey": "rk2", "status": "error"}))
            assert failed["entry"]["error"] == "suggested request generation failed"
            frame = await wait_for_frame(socket, "suggested_request_updated")
            assert frame["payload"]["requestKey"] == "rk2"  # nothing in between for "late"
            # complete without a suggestion
            response = await http.post(url, json={"requestKey": "rk3", "status": "complete"})
            assert response.status_code == 400
            assert response.json()["code"] == "missing_suggestion"
            assert response.json()["status"] == "invalid_request"
            for bad in ({}, {"requestKey": "rk"}, {"requestKey": "", "status": "complete"},
                        {"requestKey": "rk", "status": "done"},
                        {"requestKey": "rk", "status": "streaming", "suggestion": "x" * 8001},
                        {"requestKey": "rk", "status": "error", "error": "e" * 4001}, []):
                response = await http.post(url, json=bad)
                assert response.status_code == 400, (bad, response.text)
        finally:
            await socket.close()
        gone = await create_session(http)
        _ok(await http.delete(f"/api/sessions/{gone}"))
        for target, status in ((gone, 410), ("nosuch", 404)):
            response = await http.post(f"/api/sessions/{target}/suggested-request/upsert",
                                       json=[])
            assert response.status_code == status
    async with gateway_and_http(tmp_path) as (_, http):  # restart: the entry is kept
        late = _ok(await http.post(f"/api/sessions/{sid}/suggested-request/upsert",
                                   json={"requestKey": "rk", "status": "streaming"}))
        assert late["entry"]["suggestion"] == "Run the tests"
        assert late["entry"]["status"] == "complete"
        # The queue-backed routes answer upstream's queue-disabled 503 (no queue here).
        response = await http.post(f"/api/sessions/{sid}/suggested-request", json={})
        assert response.status_code == 503 and response.json()["code"] == "job_conflict"


async def test_transcript_rows_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transcript_upsert, "MAX_ENTRIES", 2)
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        url = f"/api/sessions/{sid}/transcript/upsert"
        _ok(await http.post(url, json=_row(messageId="a")))
        _ok(await http.post(url, json=_row(messageId="b")))
        response = await http.post(url, json=_row(messageId="c"))
        assert response.status_code == 413 and response.json()["code"] == "request_failed"
        # A row already there can still be updated.
        assert _ok(await http.post(url, json=_row(messageId="a", status="complete")))
    monkeypatch.setattr(transcript_upsert, "MAX_TEXT_CHARS", 100)
    async with gateway_and_http(tmp_path / "text") as (_, http):
        sid = await create_session(http)
        url = f"/api/sessions/{sid}/transcript/upsert"
        _ok(await http.post(url, json=_row(messageId="a", content="x" * 60)))
        response = await http.post(url, json=_row(messageId="b", content="y" * 60))
        assert response.status_code == 413 and response.json()["code"] == "request_failed"
        response = await http.post(url, json=_row(messageId="a", content="x" * 101))
        assert response.status_code == 413
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert [(e["messageId"], len(e["content"])) for e in detail["transcript"]] == [("a", 60)]


async def test_long_ids_count_against_the_text_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Red team: `messageId`/`turnId`/`type` are unbounded strings; only content and details
    were counted, so 20 000 rows of ~1 MiB ids (20 GB) passed the 16 Mi character cap."""
    monkeypatch.setattr(transcript_upsert, "MAX_TEXT_CHARS", 1000)
    async with gateway_and_http(tmp_path) as (_, http):
        sid = await create_session(http)
        url = f"/api/sessions/{sid}/transcript/upsert"
        _ok(await http.post(url, json=_row(messageId="a" * 400, content="")))
        for field in ("messageId", "turnId", "type"):
            response = await http.post(url, json=_row(**{field: "b" * 700}, content=""))
            assert response.status_code == 413, (field, response.text)
        detail = (await http.get(f"/api/sessions/{sid}")).json()
        assert [len(e["messageId"]) for e in detail["transcript"]] == [400]
