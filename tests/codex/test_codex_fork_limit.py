"""`--fork-session-limit` holds for concurrent forks on the real codex runtime: codex forks
in app-server, so a fork's limit check and its adopt are awaits apart; forks racing through
one count used to overshoot the limit (six concurrent forks under a limit of 3 made 7
sessions)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.gateway.session_policy import SessionCeiling

from .stack import Stack, codex_stack, echo_session
from .wire_helpers import EventStream, send_message, turn_status

pytestmark = [pytest.mark.codex, pytest.mark.anyio]
LIMIT = 3


@pytest.fixture(scope="module")
def stack(codex_bin: Path, codex_data_dir: Path) -> Iterator[Stack]:
    with (
        ModelServerThread() as model,
        codex_stack(codex_bin, codex_data_dir, ceiling=SessionCeiling(fork_session_limit=LIMIT),
                    model_base_url=f"{model.base_url}/v1") as stack,
    ):
        yield stack


async def test_concurrent_forks_stop_at_the_limit(http: httpx.AsyncClient, stack: Stack) -> None:
    source = await echo_session(http, stack)
    async with EventStream(stack.base_url, source) as events:
        turn_id = await send_message(http, source, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"
    answers = await asyncio.gather(
        *(http.post(f"/api/sessions/{source}/fork") for _ in range(6)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * (LIMIT - 1) + [429] * (6 - LIMIT + 1), [a.text for a in answers]
    listed = (await http.get("/api/sessions")).json()["data"]
    assert len(listed) == LIMIT
    # A fork of a fork counts the same way: the gateway is full.
    fork = next(a.json()["session"]["sessionId"] for a in answers if a.status_code == 200)
    again = await http.post(f"/api/sessions/{fork}/fork")
    assert again.status_code == 429 and again.json()["code"] == "session_limit"
