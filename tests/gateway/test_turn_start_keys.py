"""The start-key store forgets what it no longer needs: answers past their keep time and a
deleted session's keys (a gateway serving many short sessions must not hold their answers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from teammesh.gateway.outcome import Outcome
from teammesh.gateway.turn_start_keys import TurnStartKeys


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
