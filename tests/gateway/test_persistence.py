"""State survives restarts: sessions, titles, turns and transcripts come back; a turn that
was running when the gateway stopped (cleanly or by SIGKILL) comes back `interrupted`;
request ids never repeat; the thread takes new turns after the restart."""

from __future__ import annotations

import asyncio
import contextlib
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from teammesh.gateway.embedded import start_gateway

from .helpers import (
    STEP_TIMEOUT,
    assistant_reply,
    create_session,
    pending_tool_calls,
    send,
    tool_reply,
    turn_status,
)

LISTENING = "teammesh gateway listening on "


def _turns(detail: dict[str, Any]) -> dict[str, str]:
    return {t["id"]: t["status"] for t in detail["thread"]["turns"]}


@pytest.mark.anyio
async def test_restart_restores_sessions_and_interrupts_running_turns(tmp_path: Path) -> None:
    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        session_id = await create_session(http, approvalPolicy="never")
        await http.post(f"/api/sessions/{session_id}/rename", json={"title": "team-dev"})
        done_turn = await send(http, session_id)
        [row] = await pending_tool_calls(http, session_id)
        await http.post(f"/api/tool-calls/{row['requestId']}/response", json=tool_reply("sun"))
        before = await turn_status(http, session_id, done_turn)
        reply = assistant_reply(before, done_turn)
        assert reply
        running_turn = await send(http, session_id)
        [pending] = await pending_tool_calls(http, session_id)
        old_request_id = int(pending["requestId"])
        gone = await create_session(http)
        assert (await http.delete(f"/api/sessions/{gone}")).status_code == 200
    # Stopped with `running_turn` waiting on its tool call.

    async with (
        start_gateway(data_dir=tmp_path) as gateway,
        httpx.AsyncClient(base_url=gateway.base_url, timeout=10) as http,
    ):
        listing = (await http.get("/api/sessions")).json()["data"]
        assert [(s["sessionId"], s["title"]) for s in listing] == [(session_id, "team-dev")]
        assert (await http.get(f"/api/sessions/{gone}")).status_code == 410

        detail = (await http.get(f"/api/sessions/{session_id}")).json()
        assert detail["session"]["sessionControls"]["approvalPolicy"] == "never"
        assert detail["session"]["materialized"] is True
        assert _turns(detail) == {done_turn: "completed", running_turn: "interrupted"}
        assert assistant_reply(detail, done_turn) == reply
        assert assistant_reply(detail, running_turn) is None
        assert [e for e in detail["transcript"] if e["turnId"] == done_turn] == [
            e for e in before["transcript"] if e["turnId"] == done_turn
        ]
        assert not any(e["status"] == "streaming" for e in detail["transcript"])

        stale = await http.post(f"/api/tool-calls/{old_request_id}/response", json={"text": "x"})
        assert stale.status_code == 404
        assert (await http.get(f"/api/sessions/{session_id}/tool-calls")).json() == {"data": []}

        # The thread is re-created lazily and takes a new turn; ids never repeat.
        new_turn = await send(http, session_id)
        [fresh] = await pending_tool_calls(http, session_id)
        assert int(fresh["requestId"]) > old_request_id
        await http.post(f"/api/tool-calls/{fresh['requestId']}/response", json=tool_reply("ok"))
        after = await turn_status(http, session_id, new_turn)
        assert _turns(after)[new_turn] == "completed"
        assert assistant_reply(after, new_turn)


@contextlib.contextmanager
def _serve(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "teammesh", "serve", "--port", "0", "--data-dir", str(data_dir),
         "--no-token"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=30), "gateway did not start in time"
        line = process.stdout.readline().strip()
        assert line.startswith(LISTENING), line
        yield process, line[len(LISTENING) :]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _wait_status(http: httpx.Client, session_id: str, turn_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        detail: dict[str, Any] = http.get(f"/api/sessions/{session_id}").json()
        if _turns(detail).get(turn_id) not in (None, "inProgress"):
            return detail
        time.sleep(0.02)
    raise AssertionError(f"turn {turn_id} did not finish")


def _pending(http: httpx.Client, session_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        rows: list[dict[str, Any]] = http.get(f"/api/sessions/{session_id}/tool-calls").json()[
            "data"
        ]
        if rows:
            return rows
        time.sleep(0.02)
    raise AssertionError("no pending tool call")


def test_sigkill_mid_turn_then_restart(tmp_path: Path) -> None:
    with (
        _serve(tmp_path) as (process, base_url),
        httpx.Client(base_url=base_url, timeout=10) as http,
    ):
        session_id = asyncio.run(_create(base_url))
        http.post(f"/api/sessions/{session_id}/rename", json={"title": "survivor"})
        first = http.post(
            f"/api/sessions/{session_id}/messages", json={"text": "Please use lookup_weather now."}
        ).json()["turnId"]
        [row] = _pending(http, session_id)
        http.post(f"/api/tool-calls/{row['requestId']}/response", json=tool_reply("hail"))
        before = _wait_status(http, session_id, first)
        second = http.post(
            f"/api/sessions/{session_id}/messages",
            json={"text": "Please use lookup_weather again."},
        ).json()["turnId"]
        [killed_row] = _pending(http, session_id)
        process.kill()  # SIGKILL: no shutdown code runs
        process.wait(timeout=30)

    with _serve(tmp_path) as (_, base_url), httpx.Client(base_url=base_url, timeout=10) as http:
        detail = http.get(f"/api/sessions/{session_id}").json()
        assert detail["session"]["title"] == "survivor"
        assert _turns(detail) == {first: "completed", second: "interrupted"}
        assert assistant_reply(detail, first) == assistant_reply(before, first)
        assert assistant_reply(detail, second) is None
        gone = http.post(f"/api/tool-calls/{killed_row['requestId']}/response", json={})
        assert gone.status_code == 404
        third = http.post(
            f"/api/sessions/{session_id}/messages",
            json={"text": "Please use lookup_weather once more."},
        )
        assert third.status_code == 202
        [fresh] = _pending(http, session_id)
        assert int(fresh["requestId"]) > int(killed_row["requestId"])


async def _create(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        return await create_session(http)


def test_sigterm_stops_cleanly_and_keeps_state(tmp_path: Path) -> None:
    with (
        _serve(tmp_path) as (process, base_url),
        httpx.Client(base_url=base_url, timeout=10) as http,
    ):
        session_id = asyncio.run(_create(base_url))
        http.post(f"/api/sessions/{session_id}/rename", json={"title": "kept"})
        process.terminate()
        assert process.wait(timeout=30) == 0
    with _serve(tmp_path) as (_, base_url), httpx.Client(base_url=base_url, timeout=10) as http:
        assert http.get(f"/api/sessions/{session_id}").json()["session"]["title"] == "kept"
