"""`teammesh board serve --board postgresql://…`: a run's page from its PostgreSQL board in
a process of its own (as on another machine), answering an approval the runner waits for.

The DSN carries a password (the throwaway server trusts loopback, so any password works):
it must appear neither in what the command prints nor in anything the page gets.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from teammesh.mesh.board import create_board
from teammesh.mesh.policies import ApprovalGate, ApprovalRule
from teammesh.mesh.teamfile import builtin_team
from tests.web.test_web_browser import _start

pytestmark = pytest.mark.anyio
SECRET = "pw-never-shown-7f3a"


def _with_password(dsn: str) -> str:
    return dsn.replace("postgres@", f"postgres:{SECRET}@", 1)


async def test_serve_a_postgres_run_and_answer_its_approval(postgres_dsn: str,
                                                           tmp_path: Path) -> None:
    team = builtin_team()
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    dsn = _with_password(postgres_dsn)
    board = create_board(run_id=run_id, team=team.name, roster=team.roster, path=dsn,
                         team_text=team.text)
    rules = (ApprovalRule(member="developer", owner="reviewer", answer="ask"),)
    gate = ApprovalGate(rules, board, None, board_answers=True)  # a runner with no terminal
    waiting = asyncio.ensure_future(
        gate.check("developer", "team_queue_work", {"owner": "reviewer", "task": "t"}, "k"))
    server, url = await asyncio.to_thread(
        _start, ["board", "serve", run_id, "--board", dsn], tmp_path)
    try:
        base = url.split("/?", 1)[0]
        async with httpx.AsyncClient(base_url=base, timeout=10) as page:
            assert (await page.get(url)).status_code == 303
            for _ in range(100):
                state = (await page.get("/api/state")).json()
                if any(a["state"] == "pending" for a in state["approvals"]):
                    break
                await asyncio.sleep(0.1)
            assert state["run"]["id"] == run_id and state["origin"] == "board"
            html = (await page.get("/")).text
            token = html.split('name="teammesh-page-token" content="', 1)[1].split('"', 1)[0]
            pending = next(a for a in state["approvals"] if a["state"] == "pending")
            decided = await page.post(f"/api/approvals/{pending['id']}/decision",
                                      json={"decision": "approve"},
                                      headers={"x-teammesh-page": token, "origin": base})
            assert decided.status_code == 200, decided.text
            assert await asyncio.wait_for(waiting, 10) is None  # the runner goes ahead
            for path in ("/", "/api/state", "/api/members/developer/transcript"):
                assert SECRET not in (await page.get(path)).text
    finally:
        server.terminate()
        _, printed = server.communicate(timeout=30)
        board.close()
    assert SECRET not in printed and SECRET not in url
