"""Archive and unarchive racing each other on the real codex runtime: one at a time per
session, so a repeated call is the idempotent 200 it is when sequential, and the gateway's
flag ends as the last call says, in agreement with codex (a turn then runs or is refused).
Before, the second of two concurrent archives answered 409 `not_materialized` (codex had
moved the thread already) and the second unarchive 409 `invalid_state`."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from .stack import Stack, echo_session
from .wire_helpers import EventStream, send_message, turn_status

pytestmark = [pytest.mark.codex, pytest.mark.anyio]


async def _archived(http: httpx.AsyncClient, session_id: str) -> bool:
    listed = (await http.get("/api/sessions", params={"archived": "true"})).json()["data"]
    return session_id in [s["sessionId"] for s in listed]


async def _post_both(http: httpx.AsyncClient, session_id: str, *actions: str) -> list[int]:
    answers = await asyncio.gather(
        *(http.post(f"/api/sessions/{session_id}/{action}") for action in actions))
    return [answer.status_code for answer in answers]


async def test_concurrent_archives_and_unarchives(http: httpx.AsyncClient,
                                                  stack: Stack) -> None:
    session_id = await echo_session(http, stack)
    async with EventStream(stack.base_url, session_id) as events:
        turn_id = await send_message(http, session_id, "Say hello.")
        assert turn_status(await events.turn_completed(turn_id)) == "completed"

    assert await _post_both(http, session_id, "archive", "archive") == [200, 200]
    assert await _archived(http, session_id)
    assert await _post_both(http, session_id, "unarchive", "unarchive") == [200, 200]
    assert not await _archived(http, session_id)

    # Racing opposites run one after the other (in arrival order, which the network picks):
    # whichever came last holds, and codex agrees with the flag.
    for actions in (("unarchive", "archive"), ("archive", "unarchive")) * 2:
        assert await _post_both(http, session_id, *actions) == [200, 200]
        if await _archived(http, session_id):
            refused = await http.post(f"/api/sessions/{session_id}/messages",
                                      json={"text": "Hi."})
            assert refused.status_code == 409 and "archived" in refused.json()["message"]
            await http.post(f"/api/sessions/{session_id}/unarchive")
        async with EventStream(stack.base_url, session_id) as events:
            turn_id = await send_message(http, session_id, "Say hello again.")
            assert turn_status(await events.turn_completed(turn_id)) == "completed"
