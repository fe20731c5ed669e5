"""codex-manager's own smoke checks, replayed over HTTP and the websocket against our gateway.

Ported (our own code, same checks and the same accepted statuses) from the upstream
repository `jmillpps/codex-manager`:

- `scripts/smoke-runtime.mjs` at commit 38430f7452021f2a3285f751fbe09aeb352d4f95 (`pnpm
  smoke:runtime`): health, capabilities, every read-only pass-through route, a project and a
  session, the session stream, a turn, the thread actions, moving and deleting a project's
  chats, the 410 of a deleted session;
- `scripts/test-api-contracts.mjs` at commit 1e3e83fe072ac07e7a5ab58d441054efe75da804 (its
  contract test): the checks that do not need codex-manager's own files or its orchestrator
  (capabilities shape, 404 for missing and malformed session ids on every write route, the
  approval policy and session controls round trip). Left out, because this gateway keeps no
  system-owned orchestrator sessions: `orchestrationSession` is null here, so the 403
  `system_session` checks have nothing to run on.

`replay_smoke` is shared with tests/codex/test_codex_upstream_smoke.py (the same checks on
the real codex runtime). Beyond upstream's checks, an accepted 404 must never be the
route-miss 404 (`Route … not found`): that is what codex-manager's client would swallow.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from teammesh.gateway.session_policy import SessionCeiling

from .helpers import gateway_and_http, next_frame, open_stream

pytestmark = pytest.mark.anyio

# What smoke-runtime.mjs accepts from the thread actions after a turn.
PERMISSIVE = (200, 202, 400, 401, 403, 404, 405, 409, 410, 422, 429, 501)
# The read-only routes it probes first, and what each may answer.
PROBES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("GET", "/features/experimental", (200, 501)),
    ("GET", "/collaboration/modes", (200, 501)),
    ("GET", "/apps", (200, 501)),
    ("GET", "/skills", (200, 501)),
    ("GET", "/skills/remote", (200, 500, 501)),  # "may proxy to external services"
    ("POST", "/mcp/reload", (200, 501)),
    ("GET", "/account", (200, 401, 501)),
    ("GET", "/account/rate-limits", (200, 401, 501)),
    ("GET", "/config", (200, 501)),
    ("GET", "/config/requirements", (200, 501)),
    ("GET", "/models", (200, 501)),
    ("GET", "/mcp/servers", (200, 501)),
)


class Smoke:
    """One client of the gateway's `/api`, asserting each answer's status as the script
    does and keeping a log of what it got."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.log: list[tuple[str, str, int]] = []

    async def call(self, method: str, path: str, expected: tuple[int, ...],
                   body: Any = None) -> httpx.Response:
        response = await self.http.request(method, f"/api{path}",
                                           json=body if body is not None else None)
        self.log.append((method, path, response.status_code))
        assert response.status_code in expected, (method, path, response.status_code,
                                                  response.text[:300])
        if response.status_code == 404:  # never a route-miss passed off as "not found"
            message = str(response.json().get("message", ""))
            assert not message.startswith("Route "), (method, path, response.text)
        return response

    def json(self, response: httpx.Response) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        return body


@contextlib.asynccontextmanager
async def _frames(base_url: str, session_id: str) -> AsyncIterator[list[dict[str, Any]]]:
    """The session's stream (after its `ready` frame), read in the background."""
    socket: ClientConnection = await open_stream(base_url, session_id)
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        with contextlib.suppress(Exception):
            while True:
                seen.append(await next_frame(socket, wait_s=3600))

    reader = asyncio.create_task(read())
    try:
        yield seen
    finally:
        reader.cancel()
        await socket.close()


async def _until(condition: Any, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def replay_smoke(http: httpx.AsyncClient, base_url: str,
                       session_body: dict[str, Any] | None = None) -> Smoke:
    """smoke-runtime.mjs's checks, in its order. `session_body`: the create body (the codex
    stack needs its workspace as cwd; upstream sends `{}`)."""
    smoke = Smoke(http)
    sessions: list[str] = []
    projects: list[str] = []
    try:
        health = await smoke.call("GET", "/health", (200,))
        assert smoke.json(health)["status"] == "ok"
        await smoke.call("GET", "/capabilities", (200,))
        for method, path, expected in PROBES:
            await smoke.call(method, path, expected, {} if method == "POST" else None)

        created = await smoke.call("POST", "/projects", (200,),
                                   {"name": f"Smoke Project {time.time_ns()}"})
        project_id = smoke.json(created)["project"]["projectId"]
        assert isinstance(project_id, str)
        projects.append(project_id)
        session = await smoke.call("POST", "/sessions", (200,), session_body or {})
        session_id = smoke.json(session)["session"]["sessionId"]
        assert isinstance(session_id, str)
        sessions.append(session_id)
        s = f"/sessions/{session_id}"

        async with _frames(base_url, session_id) as frames:
            await smoke.call("POST", f"{s}/project", (200,), {"projectId": project_id})
            await smoke.call("GET", f"{s}/tool-input", (200,))
            busy = await smoke.call("DELETE", f"/projects/{project_id}", (409,))
            assert smoke.json(busy)["status"] == "project_not_empty"

            sent = await smoke.call("POST", f"{s}/messages", (202, 401),
                                    {"text": "Reply with exactly OK"})
            if sent.status_code == 202:
                turn_id = smoke.json(sent).get("turnId")

                async def assistant_done() -> bool:
                    detail = smoke.json(await smoke.call("GET", s, (200,)))
                    return any(e["role"] == "assistant" and e["status"] in ("complete", "error")
                               for e in detail.get("transcript", []))

                async def streamed() -> bool:
                    return any(f.get("type") in ("notification", "approval") for f in frames)

                await _until(assistant_done, "assistant turn completion in transcript")
                await _until(streamed, "stream events after turn start")
                for action in ("fork", "compact", "rollback", "background-terminals/clean",
                               "review"):
                    await smoke.call("POST", f"{s}/{action}", PERMISSIVE, {})
                if turn_id:
                    await smoke.call("POST", f"{s}/turns/{turn_id}/steer", PERMISSIVE,
                                     {"input": "Continue."})

        await smoke.call("POST", f"/projects/{project_id}/chats/move-all", (200,),
                         {"destination": "unassigned"})
        await smoke.call("POST", f"{s}/project", (200,), {"projectId": project_id})
        await smoke.call("POST", f"/projects/{project_id}/chats/delete-all", (200,), {})
        deleted = await smoke.call("GET", s, (410,))
        assert smoke.json(deleted)["status"] == "deleted"
        await smoke.call("DELETE", f"/projects/{project_id}", (200,))
    finally:
        for session_id in sessions:
            await smoke.call("DELETE", f"/sessions/{session_id}", (200, 404, 410))
        for project_id in projects:
            await smoke.call("DELETE", f"/projects/{project_id}", (200, 404, 409))
    return smoke


async def test_smoke_runtime_checks_pass_on_playbook(tmp_path: Path) -> None:
    async with gateway_and_http(tmp_path) as (gateway, http):
        smoke = await replay_smoke(http, gateway.base_url)
    got = {(m, p): status for m, p, status in smoke.log}
    # The playbook runtime has no pass-through methods: upstream's 501 (not a 404).
    assert got[("GET", "/models")] == 501 and got[("POST", "/mcp/reload")] == 501
    # A playbook thread forks, rolls back and (no turn running) refuses steer as a conflict.
    actions = {p.rsplit("/", 1)[1]: st for _, p, st in smoke.log if p.count("/") >= 3}
    assert actions["fork"] == 200 and actions["rollback"] == 200
    assert actions["compact"] == 501 and actions["review"] == 501
    assert actions["steer"] == 409


# --- the portable checks of test-api-contracts.mjs -----------------------------------------


async def test_api_contract_checks(tmp_path: Path) -> None:
    ceiling = SessionCeiling(approval_policies=("never", "on-failure"))
    async with gateway_and_http(tmp_path, ceiling=ceiling) as (_, http):
        caps = await http.get("/api/capabilities")
        assert caps.status_code == 200 and isinstance(caps.json()["methods"], dict)
        modes = await http.get("/api/collaboration/modes", params={"limit": "5"})
        assert modes.status_code in (200, 501)
        created = await http.post("/api/sessions", json={"approvalPolicy": "on-failure"})
        assert created.status_code == 200, created.text
        session_id = created.json()["session"]["sessionId"]
        assert created.json()["session"]["approvalPolicy"] == "on-failure"
        assert created.json()["session"]["sessionControls"]["approvalPolicy"] == "on-failure"
        controls = (await http.get(f"/api/sessions/{session_id}/session-controls")).json()
        assert controls["controls"]["approvalPolicy"] == "on-failure"

        apply = {"scope": "session",
                 "controls": {"model": None, "approvalPolicy": "on-failure",
                              "networkAccess": "restricted", "filesystemSandbox": "read-only"},
                 "actor": "api-contract", "source": "api-contract"}
        # A well-formed id nobody has, and one that is not an id at all: 404 on every write,
        # and nothing stored for them.
        for missing in ("0199dead-beef-7bad-babe-123456789abc", "not-a-valid-thread-id"):
            base = f"/api/sessions/{missing}"
            for method, path, body in (
                    ("POST", "/approval-policy", {"approvalPolicy": "on-failure"}),
                    ("POST", "/messages", {"text": "orphan-write", "effort": "minimal"}),
                    ("GET", "/session-controls", None),
                    ("POST", "/session-controls", apply)):
                response = await http.request(method, base + path, json=body)
                assert response.status_code == 404, (missing, path, response.text)
                assert response.json() == {"status": "not_found", "sessionId": missing}
        listed = (await http.get("/api/sessions", params={"archived": "false",
                                                          "limit": "200"})).json()["data"]
        assert [s["sessionId"] for s in listed] == [session_id]  # no orphan was made

        policy = await http.post(f"/api/sessions/{session_id}/approval-policy",
                                 json={"approvalPolicy": "on-failure"})
        assert policy.status_code == 200 and policy.json()["approvalPolicy"] == "on-failure"
        applied = await http.post(f"/api/sessions/{session_id}/session-controls", json=apply)
        assert applied.status_code == 200, applied.text
        assert applied.json()["controls"]["approvalPolicy"] == "on-failure"
        assert applied.json()["applied"]["approvalPolicy"] == "on-failure"

        project = await http.post("/api/projects", json={"name": "api-contract-project",
                                                         "workingDirectory": str(tmp_path)})
        assert project.status_code == 200, project.text
        # Departure: no orchestrator here, so no system-owned session to hide or refuse.
        assert project.json()["orchestrationSession"] is None
        assert (await http.delete(f"/api/projects/"
                                  f"{project.json()['project']['projectId']}")).status_code == 200
        sent = await http.post(f"/api/sessions/{session_id}/messages",
                               json={"text": "Seed context.", "effort": "minimal",
                                     "approvalPolicy": "on-failure"})
        assert sent.status_code == 202, sent.text
        after = (await http.get(f"/api/sessions/{session_id}/session-controls")).json()
        assert after["controls"]["approvalPolicy"] == "on-failure"
