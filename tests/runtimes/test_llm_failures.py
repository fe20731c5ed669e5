"""Model failures on the llm runtime, told and survived, with real failing endpoints.

Gateway level: a failed turn carries codex's `turn.error` (message, kind) for a refused
connection, a 401 and a 500. Runner level: a failure that will recur (401, refused
connection) stops the run after its first turn with the reason and a `failed` board; a
transient one (500) is retried with backoff, charged to the task, and ends as a dead letter
after `max_attempts`; the board records each failed turn's reason and `teammesh board show`
lists it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.runtimes.error_model_server import error_model_server, refused_url

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import builtin_team

pytestmark = pytest.mark.anyio
TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


class _Lines:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def _spec(url: str) -> str:
    return f"llm?model=openai-responses:playbook&model_base_url={url}"


async def _failed_turn(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        created = await http.post("/api/sessions", json={"cwd": "."})
        session_id = created.json()["session"]["sessionId"]
        sent = await http.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
        assert sent.status_code == 202, sent.text
        async with asyncio.timeout(60):
            while True:
                turns = (await http.get(f"/api/sessions/{session_id}")).json()["thread"]["turns"]
                if turns and turns[-1]["status"] != "inProgress":
                    return dict(turns[-1])
                await asyncio.sleep(0.05)


async def test_refused_connection_fails_the_turn_with_the_reason(tmp_path: Path) -> None:
    async with start_gateway(data_dir=tmp_path / "gw", runtime=_spec(refused_url())) as gw:
        turn = await _failed_turn(gw.base_url)
    assert turn["status"] == "failed"
    assert turn["error"]["message"].startswith("model endpoint unreachable")
    assert turn["error"]["codexErrorInfo"] == {"httpConnectionFailed": {"httpStatusCode": None}}


@pytest.mark.parametrize(("status", "kind"), [(401, "unauthorized"),
                                              (500, "internalServerError")])
async def test_http_error_fails_the_turn_with_the_endpoint_message(
    tmp_path: Path, status: int, kind: str
) -> None:
    async with error_model_server(status, f"stub refuses with {status}") as model, \
            start_gateway(data_dir=tmp_path / "gw", runtime=_spec(model.base_url)) as gw:
        turn = await _failed_turn(gw.base_url)
    assert turn["status"] == "failed"
    assert turn["error"]["codexErrorInfo"] == kind
    assert turn["error"]["message"] == (
        f"model endpoint answered HTTP {status}: stub refuses with {status}")


async def _run_team(tmp_path: Path, url: str) -> tuple[Any, Any, _Lines, _Lines]:
    team = builtin_team()
    board = create_board(run_id="fail", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite")
    out, notes = _Lines(), _Lines()
    async with start_gateway(data_dir=tmp_path / "gw", runtime=_spec(url)) as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        runner = TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                            Printer(out=out, notes=notes))
        outcome = await runner.run()
    return outcome, board, out, notes


async def test_a_401_stops_the_run_at_once_with_the_reason(tmp_path: Path) -> None:
    async with error_model_server(401, "Incorrect API key provided") as model:
        outcome, board, out, _ = await _run_team(tmp_path, model.base_url)
        requests = model.requests
    lines = [line for line in out.text.splitlines() if line.startswith("[round")]
    assert lines == ["[round 1] developer: turn failed: model endpoint answered HTTP 401:"
                     " Incorrect API key provided"], out.text
    assert requests == 1  # one turn, not nine rounds of them
    assert outcome.status == "failed"
    assert "Incorrect API key provided" in outcome.reason
    info = board.info()
    assert info.status == "failed" and "HTTP 401" in info.reason
    assert not board.dead_letters()  # a configuration error does not use up the task
    board.close()


async def test_a_refused_connection_stops_the_run_at_once(tmp_path: Path) -> None:
    outcome, board, out, _ = await _run_team(tmp_path, refused_url())
    lines = [line for line in out.text.splitlines() if line.startswith("[round")]
    assert len(lines) == 1 and "model endpoint unreachable" in lines[0], out.text
    assert outcome.status == "failed"
    board.close()


async def test_a_500_is_retried_then_dead_lettered(tmp_path: Path) -> None:
    async with error_model_server(500, "overloaded") as model:
        outcome, board, out, notes = await _run_team(tmp_path, model.base_url)
    lines = [line for line in out.text.splitlines() if line.startswith("[round")]
    max_attempts = board.info().max_attempts
    assert len(lines) == max_attempts, out.text
    assert all(line.startswith("[round") and "developer: turn failed: model endpoint"
               " answered HTTP 500: overloaded" in line for line in lines), out.text
    dead = board.dead_letters()
    assert [(t.owner, t.attempts) for t in dead] == [("developer", max_attempts)]
    assert "dead letter: task" in notes.text
    assert outcome.status == "incomplete"
    # The board says why each turn failed: the problem printed on its `[round N]` line.
    reason = "turn failed: model endpoint answered HTTP 500: overloaded"
    assert [(t.member, t.round, t.state, t.reason) for t in board.turns()] == [
        ("developer", n, "failed", reason) for n in range(1, max_attempts + 1)]
    board.close()
    shown = await asyncio.to_thread(
        subprocess.run, [TEAMMESH, "board", "show", "fail", "--board",
                         str(tmp_path / "board.sqlite")],
        capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    listed = shown.stdout.split("failed turns:\n", 1)[1].split("artifacts:", 1)[0]
    assert listed.splitlines() == [
        f"  round {n} developer    failed {reason}" for n in range(1, max_attempts + 1)]
