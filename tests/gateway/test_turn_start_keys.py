"""The start-key store forgets what it no longer needs: answers past their keep time and a
deleted session's keys (a gateway serving many short sessions must not hold their answers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from teammesh.gateway.outcome import Outcome
from teammesh.gateway.turn_start_keys import TurnStartKeys
from tests.gateway.helpers import create_session, gateway_and_http


def _starter(counter: list[int]) -> Callable[[], Awaitable[Outcome]]:
    async def start() -> Outcome:
        counter.append(1)
        return Outcome(202, {"turn": len(counter)})
    return start


@pytest.mark.anyio
async def test_a_key_within_its_keep_time_answers_from_the_first_start() -> None:
    keys, started = TurnStartKeys(), []
    first = await keys.once("s1", "k", _starter(started))
    again = await keys.once("s1", "k", _starter(started))
    assert len(started) == 1 and again is first


@pytest.mark.anyio
async def test_an_expired_key_is_dropped() -> None:
    keys, started = TurnStartKeys(keep_seconds=0.0), []
    await keys.once("s1", "k", _starter(started))
    await keys.once("s1", "other", _starter(started))  # any later start sweeps expired keys
    await keys.once("s1", "k", _starter(started))
    assert len(started) == 3


@pytest.mark.anyio
async def test_a_deleted_sessions_keys_are_forgotten_and_others_kept() -> None:
    keys, started = TurnStartKeys(), []
    await keys.once("gone", "k", _starter(started))
    await keys.once("kept", "k", _starter(started))
    keys.forget("gone")
    await keys.once("gone", "k", _starter(started))
    await keys.once("kept", "k", _starter(started))
    assert len(started) == 3


@pytest.mark.anyio
async def test_every_way_of_deleting_a_session_forgets_its_keys(tmp_path: Path) -> None:
    """`DELETE /api/sessions/S` and a project's delete-all both go through the hub's delete,
    which drops the session's start keys (before, only the first route did)."""
    async with gateway_and_http(tmp_path) as (gateway, http):
        keys, started = gateway.hub.turn_start_keys, []
        project = (await http.post("/api/projects", json={"name": "p"})).json()["project"]
        alone, in_project = await create_session(http), await create_session(http)
        moved = await http.post(f"/api/sessions/{in_project}/project",
                                json={"projectId": project["projectId"]})
        assert moved.status_code == 200, moved.text
        for sid in (alone, in_project):
            await keys.once(sid, "k", _starter(started))
        assert (await http.delete(f"/api/sessions/{alone}")).status_code == 200
        wiped = await http.post(f"/api/projects/{project['projectId']}/chats/delete-all",
                                json={})
        assert wiped.status_code == 200, wiped.text
        for sid in (alone, in_project):
            await keys.once(sid, "k", _starter(started))
        assert len(started) == 4  # neither key was remembered past its session
