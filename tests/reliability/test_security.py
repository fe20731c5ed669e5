"""Security: nobody without the token gets in, nobody listens publicly without one, no member
acts as another, and the token never reaches a log.

(tests/gateway/test_auth.py checks a sample of routes in process; here every route the app
declares and the websocket are tried against a real `teammesh serve`, with more kinds of
wrong credentials, and a whole team run is made with the token set while every log is kept.)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from teammesh.client import AsyncCodexManager
from teammesh.gateway.app import ROUTES
from teammesh.gateway.embedded import GatewayThread, InsecureBindError, start_gateway
from teammesh.mesh.board import TeamBoard, create_board
from teammesh.mesh.skills import MemberSkills

from .procs import TEAMMESH, GatewayProcess, readline, runner_env
from .teamruns import RUN_TIMEOUT, board_facts, run_args


def _wrong_credentials(token: str) -> dict[str, dict[str, str]]:
    return {
        "none": {},
        "wrong token": {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"},
        "empty bearer": {"Authorization": "Bearer"},
        "token without scheme": {"Authorization": token},
        "basic scheme": {"Authorization": f"Basic {token}"},
        "prefix of token": {"Authorization": f"Bearer {token[:-1]}"},
        "token plus suffix": {"Authorization": f"Bearer {token}x"},
        "token in other header": {"X-Api-Key": token, "x-codex-rbac-token": token},
    }


def _concrete(path: str) -> str:
    return (path.replace("{session_id}", "s-1").replace("{request_id}", "1")
            .replace("{approval_id}", "1"))


@pytest.mark.timeout(60)
def test_every_route_and_the_stream_refuse_missing_and_wrong_tokens(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(32)
    refused = 0
    with GatewayProcess(tmp_path / "gateway", token=token) as gateway, \
            httpx.Client(base_url=gateway.base_url, timeout=10) as http:
        routes = [(method, _concrete(path)) for method, path, _ in ROUTES]
        routes += [("GET", "/api/nope"), ("POST", "/"), ("GET", f"/api/health?token={token}")]
        for name, headers in _wrong_credentials(token).items():
            for method, path in routes:
                response = http.request(method, path, headers=headers, json={})
                assert response.status_code == 401, (name, method, path, response.text)
                body = response.json()
                assert body["code"] == "unauthorized" and body["status"] == "error"
                assert token not in response.text
                refused += 1
            for query in ("", f"?token={token}", f"?access_token={token}"):
                url = gateway.base_url.replace("http://", "ws://") + "/api/stream" + query
                with pytest.raises(InvalidStatus) as rejected:
                    asyncio.run(_open_ws(url, headers))
                assert rejected.value.response.status_code == 401, name
                refused += 1
        good = {"Authorization": f"Bearer {token}"}
        assert http.get("/api/health", headers=good).status_code == 200
        assert http.get("/api/health", headers={"authorization": f"bearer {token}"}
                        ).status_code == 200  # header name and scheme are case-insensitive
        asyncio.run(_open_ws(gateway.base_url.replace("http://", "ws://") + "/api/stream",
                             good))
    print(f"\nauth: {refused} requests with missing or wrong credentials, all 401"
          f" ({len(ROUTES)} declared routes + stream)")


async def _open_ws(url: str, headers: dict[str, str]) -> None:
    async with connect(url, additional_headers=headers) as ws:
        ready = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ready["type"] == "ready"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "gateway.example.com"])
def test_non_loopback_bind_without_a_token_is_refused_before_listening(
    tmp_path: Path, host: str,
) -> None:
    port = _free_port()
    env = runner_env()
    env.pop("TEAMMESH_TOKEN", None)
    # Without a token only by asking for it (`--no-token`; a token is generated otherwise),
    # and an empty --token / TEAMMESH_TOKEN is no token either.
    for token_args, extra_env in ((["--no-token"], {}), (["--no-token", "--token", ""], {}),
                                  (["--no-token"], {"TEAMMESH_TOKEN": ""})):
        result = subprocess.run(
            [TEAMMESH, "serve", "--host", host, "--port", str(port), "--data-dir",
             str(tmp_path / "gateway"), *token_args],
            capture_output=True, text=True, timeout=30, env={**env, **extra_env}, check=False)
        assert result.returncode == 2, (host, token_args, result.stderr)
        assert "without a token" in result.stderr
        assert result.stdout == ""  # never announced a listening address
    assert not (tmp_path / "gateway").exists()  # refused before touching anything
    with pytest.raises(InsecureBindError):
        GatewayThread(data_dir=tmp_path / "x", host=host)
    with pytest.raises(InsecureBindError):
        GatewayThread(data_dir=tmp_path / "x", host=host, token="")


# --- identity is bound to the member, never read from arguments ---------------------------------

ROSTER = ("developer", "docs", "reviewer")
IMPERSONATION_KEYS = ("member", "owner", "by", "queued_by", "as", "scope", "session",
                      "sessionId", "identity")


def _bind(board: TeamBoard, member: str) -> Any:
    """The `register` callback declaring `member`'s five skills on a draft session."""
    return MemberSkills(member=member, board=board).register


async def _turn(cm: AsyncCodexManager, handle: Any, steps: list[str]) -> list[dict[str, Any]]:
    prompt = "Process for this turn:\n" + "".join(
        f"{n}. {step}\n" for n, step in enumerate([*steps, "Reply with done."], 1))
    turn_id = (await handle.send(prompt, inject_skills=False))["turnId"]
    for _ in range(400):
        await handle.drain_pending_calls()
        detail = await cm.sessions.get(handle.session_id)
        turn = next(t for t in detail["thread"]["turns"] if t["id"] == turn_id)
        if turn["status"] != "inProgress":
            return [i for i in turn["items"] if i.get("type") == "dynamicToolCall"]
        await asyncio.sleep(0.025)
    raise AssertionError("turn did not finish")


def _call(tool: str, arguments: dict[str, Any]) -> str:
    return f"Call {tool} with {json.dumps(arguments)}."


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_a_member_cannot_act_as_another_member(tmp_path: Path) -> None:
    board = create_board(run_id="run-identity", team="default", roster=ROSTER,
                         path=tmp_path / "board.sqlite")
    board.queue_work("reviewer", "review it", by="system", key="initial:0")
    attempts = 0
    try:
        async with start_gateway(data_dir=tmp_path / "gateway") as gateway, \
                AsyncCodexManager(base_url=gateway.base_url) as cm:
            dev_register = _bind(board, "developer")
            rev_register = _bind(board, "reviewer")
            _c, developer = await cm.remote_skills.create_session(
                register=dev_register, approval_policy="never")
            _c, reviewer = await cm.remote_skills.create_session(
                register=rev_register, approval_policy="never")

            # The developer tries every skill with every identity-looking extra argument.
            legit = {"team_pull_work": {}, "team_read_board": {"limit": 3},
                     "team_publish_artifact": {"kind": "note", "summary": "mine"},
                     "team_queue_work": {"owner": "docs", "task": "t"},
                     "team_mark_done": {"note": "finished"}}
            steps = []
            for tool, arguments in legit.items():
                for key in IMPERSONATION_KEYS:
                    if key in arguments:
                        continue
                    steps.append(_call(tool, {**arguments, key: "reviewer"}))
            before = (board.tasks(), board.artifacts(), board.completed())
            for chunk in range(0, len(steps), 10):
                items = await _turn(cm, developer, steps[chunk:chunk + 10])
                assert items and all(i["success"] is False for i in items), items
                attempts += len(items)
            assert (board.tasks(), board.artifacts(), board.completed()) == before
            # The reviewer's queued task was not pulled by anyone.
            assert [t.status for t in board.tasks() if t.owner == "reviewer"] == ["queued"]

            # What the developer may do is recorded as the developer, whatever it says.
            items = await _turn(cm, developer, [
                _call("team_publish_artifact", {"kind": "note", "summary": "by reviewer"}),
                _call("team_queue_work", {"owner": "docs", "task": "from the reviewer"}),
                _call("team_mark_done", {})])
            assert [i["success"] for i in items] == [True, True, True], items
            assert board.artifacts()[-1].member == "developer"
            assert board.tasks()[-1].queued_by == "developer"
            assert board.completed() == ["developer"]
            # A call of the developer's session is never run by the reviewer's handlers.
            assert await reviewer.drain_pending_calls() == []
    finally:
        board.close()
    print(f"\nidentity: {attempts} impersonation attempts refused; accepted calls recorded"
          " under the bound member")


# --- nothing secret in logs ----------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_the_token_never_appears_in_gateway_or_runner_logs(tmp_path: Path) -> None:
    token = "tm-" + secrets.token_urlsafe(32)
    log = tmp_path / "gateway.log"
    # The token reaches the gateway by environment (TEAMMESH_TOKEN), not argv, so it is not
    # in the process table either; debug logging on, so every logger speaks.
    gateway_env = runner_env(TEAMMESH_TOKEN=token)
    with log.open("w", encoding="utf-8") as log_file:
        proc = subprocess.Popen(
            [TEAMMESH, "serve", "--port", "0", "--data-dir", str(tmp_path / "gateway"),
             "--log-level", "debug"], stdout=subprocess.PIPE, stderr=log_file, text=True,
            env=gateway_env)
        try:
            assert proc.stdout is not None
            line = readline(proc.stdout, 30)
            assert line.startswith("teammesh gateway listening on "), line
            base_url = line.strip().rsplit(" ", 1)[1]
            # Refused callers, including one presenting a near miss of the token.
            with httpx.Client(base_url=base_url, timeout=10) as http:
                assert http.get("/api/sessions").status_code == 401
                assert http.get("/api/sessions",
                                headers={"Authorization": f"Bearer {token}x"}
                                ).status_code == 401
            # A whole team run with the token, through the client's environment variable.
            board_file = tmp_path / "board.sqlite"
            result = subprocess.run(
                [TEAMMESH, *run_args(board_file, base_url)], cwd=tmp_path,
                env=runner_env(CODEX_MANAGER_BEARER_TOKEN=token), capture_output=True,
                text=True, timeout=RUN_TIMEOUT, check=False)
            assert result.returncode == 0, result.stdout + result.stderr
            assert board_facts(board_file).status == "complete"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    logs = {"gateway log": log.read_text(encoding="utf-8"),
            "runner stdout": result.stdout, "runner stderr": result.stderr}
    assert logs["gateway log"].strip(), "debug logging produced nothing: the check is empty"
    for name, text in logs.items():
        assert token not in text, name
        assert token[3:20] not in text, name
    print(f"\nlogs: {sum(len(t) for t in logs.values())} characters of gateway and runner"
          " output with the token set; token found 0 times")
