"""The web board is as closed as the gateway: token → cookie, Host and Origin checked,
decisions only from our own page, read-only refuses them, and no secret in what it serves.

A real server (uvicorn on a free loopback port) over a real SQLite board; httpx plays the
browser, sending exactly the headers a browser would (a foreign page's Origin, a rebinding
attack's Host).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from teammesh.web.access import cookie_name, derive
from tests.web.helpers import Served, served_board

pytestmark = pytest.mark.anyio


def _page_token(html: str) -> str:
    marker = 'name="teammesh-page-token" content="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


async def _decide(client: httpx.AsyncClient, served: Served, approval_id: int, *,
                  page_token: str | None, decision: str = "approve",
                  headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> httpx.Response:
    sent = {"content-type": content_type, **(headers or {})}
    if page_token is not None:
        sent["x-teammesh-page"] = page_token
    return await client.post(f"/api/approvals/{approval_id}/decision",
                              content=json.dumps({"decision": decision}), headers=sent)


async def test_token_in_the_url_becomes_a_strict_cookie_and_leaves_the_url(
        tmp_path: Path) -> None:
    async with served_board(tmp_path) as served, served.client() as client:
        assert (await client.get("/")).status_code == 401
        assert (await client.get("/api/state")).json()["code"] == "unauthorized"
        assert (await client.get("/?token=wrong")).status_code == 401
        assert (await client.get("/api/events")).status_code == 401
        entered = await client.get(served.running.url)
        assert entered.status_code == 303
        assert entered.headers["location"] == "/"  # the token is gone from the address
        cookie = entered.headers["set-cookie"]
        assert cookie.startswith(f"{cookie_name(served.running.port)}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert served.running.token not in cookie  # derived, never the token itself
        state = await client.get("/api/state")
        assert state.status_code == 200
        assert state.json()["run"]["id"] == served.board.run_id
        # A script may use the token as a bearer instead.
        async with served.client() as script:
            bearer = {"authorization": f"Bearer {served.running.token}"}
            assert (await script.get("/api/state", headers=bearer)).status_code == 200
            assert (await script.get("/api/state", headers={
                "authorization": "Bearer nope"})).status_code == 401


async def test_bad_host_is_refused_even_with_the_cookie(tmp_path: Path) -> None:
    async with served_board(tmp_path) as served:
        async with served.client() as client:
            await served.sign_in(client)
            rebinding = await client.get("/api/state", headers={"host": "evil.example"})
            assert rebinding.status_code == 403
            assert rebinding.json()["code"] == "forbidden_host"
            other_port = await client.get(
                "/", headers={"host": f"127.0.0.1:{served.running.port + 1}"})
            assert other_port.status_code == 403


async def test_decisions_need_our_origin_our_page_token_and_json(tmp_path: Path) -> None:
    async with served_board(tmp_path) as served:
        approval = served.board.open_approval("docs", "team_mark_done", "may docs finish?",
                                              key="k1")
        async with served.client() as client:
            await served.sign_in(client)
            page = await client.get("/")
            token = _page_token(page.text)
            assert token == derive(served.running.token, "page")
            own = {"origin": served.running.base_url}
            foreign = await _decide(client, served, approval.id, page_token=token,
                                    headers={"origin": "http://evil.example"})
            assert foreign.status_code == 403 and foreign.json()["code"] == "forbidden_origin"
            # A cross-site page's form/no-cors POST: text/plain, no page token.
            simple = await _decide(client, served, approval.id, page_token=None,
                                   headers={"origin": "http://localhost:9"},
                                   content_type="text/plain")
            assert simple.status_code == 403
            no_token = await _decide(client, served, approval.id, page_token=None,
                                     headers=own)
            assert no_token.status_code == 403 and no_token.json()["code"] == "forbidden"
            plain = await _decide(client, served, approval.id, page_token=token, headers=own,
                                  content_type="text/plain")
            assert plain.status_code == 415
            bad = await _decide(client, served, approval.id, page_token=token, headers=own,
                                decision="maybe")
            assert bad.status_code == 400
            unknown = await _decide(client, served, 999, page_token=token, headers=own)
            assert unknown.status_code == 404
            assert served.board.approvals()[0].state == "pending"  # nothing got through
            ok = await _decide(client, served, approval.id, page_token=token, headers=own)
            assert ok.status_code == 200, ok.text
            assert ok.json()["approval"] == {"id": approval.id, "state": "approved",
                                             "answered_by": "web"}
            again = await _decide(client, served, approval.id, page_token=token,
                                  headers=own, decision="deny")
            assert again.status_code == 409
            assert again.json()["code"] == "already_answered"
            assert served.board.approvals()[0].state == "approved"
        async with served.client() as stranger:  # no cookie: the page token alone is nothing
            stolen = await _decide(stranger, served, approval.id, page_token=token,
                                   headers=own)
            assert stolen.status_code == 401


async def test_read_only_refuses_and_hides_decisions(tmp_path: Path) -> None:
    async with served_board(tmp_path, read_only=True) as served:
        approval = served.board.open_approval("docs", "team_mark_done", "may docs finish?",
                                              key="k1")
        async with served.client() as client:
            await served.sign_in(client)
            page = await client.get("/")
            assert 'name="teammesh-read-only" content="true"' in page.text
            refused = await _decide(client, served, approval.id,
                                    page_token=_page_token(page.text),
                                    headers={"origin": served.running.base_url})
            assert refused.status_code == 403 and refused.json()["code"] == "read_only"
            assert served.board.approvals()[0].state == "pending"
            assert (await client.get("/api/state")).json()["read_only"] is True


async def test_no_secret_in_what_the_page_gets(tmp_path: Path) -> None:
    async with served_board(tmp_path) as served:
        served.board.update_meta(launch={"api_base": "http://user:hunter2@gw.example",
                                         "model_api_key_env": "OPENAI_API_KEY"})
        async with served.client() as client:
            await served.sign_in(client)
            served.feed.refresh()
            for path in ("/", "/api/state", "/static/board.js",
                         "/api/members/docs/transcript"):
                answer = await client.get(path)
                assert answer.status_code == 200, path
                assert served.running.token not in answer.text, path
                assert "hunter2" not in answer.text and "OPENAI_API_KEY" not in answer.text
            page = await client.get("/")
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert page.headers["x-frame-options"] == "DENY"
            assert (await client.get("/static/../app.py")).status_code == 404
            assert (await client.get("/api/members/nobody/transcript")).status_code == 404


async def test_events_push_the_state_and_its_changes(tmp_path: Path) -> None:
    async with served_board(tmp_path) as served:
        async with served.client() as client:
            await served.sign_in(client)
            await _stream_changes(served, client)


async def _stream_changes(served: Served, client: httpx.AsyncClient) -> None:
    if True:
        async with client.stream("GET", "/api/events") as events:
            assert events.headers["content-type"].startswith("text/event-stream")
            states: list[dict[str, object]] = []
            async for line in events.aiter_lines():
                if not line.startswith("data: "):
                    continue
                states.append(json.loads(line[len("data: "):]))
                if len(states) == 1:
                    served.board.queue_work("docs", "write it down", by="developer")
                    served.feed.nudge()
                else:
                    break
            tasks = states[-1]["tasks"]
            assert isinstance(tasks, list) and tasks[-1]["text"] == "write it down"
