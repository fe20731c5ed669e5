"""Wake-ups by LISTEN/NOTIFY: in a run that workers drive (a lease row), a handoff's commit
wakes the run's listeners (not another run's), a turn settling and the run's end wake them
too; a run no worker drives (a single runner's) notifies no one; and a listener cut from
the server raises instead of waiting forever on the slow poll."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board
from teammesh.mesh.board.leases import PgLeases
from teammesh.mesh.wakeups import Wakeups

from .conftest import ROSTER

WITHIN = 30.0  # a generous bound for "eventually"


def _run(dsn: str, *, workers: bool = True) -> TeamBoard:
    """A run; driven by workers (a worker holds a member's lease) unless told otherwise."""
    board = create_board(run_id=f"run-{uuid.uuid4().hex[:10]}", team="default",
                         roster=ROSTER, path=dsn)
    if workers:
        leases = PgLeases(dsn, board.run_id, "worker-1")
        assert leases.take("reviewer") is not None
        leases.close()
    return board


async def _woken(wakeups: Wakeups, within: float = WITHIN) -> bool:
    try:
        await asyncio.wait_for(wakeups.woken(), within)
    except TimeoutError:
        return False
    wakeups.consume()
    return True


def test_commits_wake_the_runs_listeners(postgres_dsn: str) -> None:
    board, other = _run(postgres_dsn), _run(postgres_dsn)

    async def scenario() -> None:
        wakeups = await Wakeups(postgres_dsn, board.run_id).start()
        try:
            other.queue_work("docs", "not ours", by=SYSTEM_MEMBER)
            assert not await _woken(wakeups, within=0.5)  # another run's handoff
            board.queue_work("docs", "ours", by=SYSTEM_MEMBER)
            assert await _woken(wakeups)
            slot = board.open_turn("docs", 1)
            board.pull_work("docs", token=slot.token)
            board.settle_turn(slot.token, ok=True)
            assert await _woken(wakeups)
            board.update_run(status="complete", reason="done")
            assert await _woken(wakeups)
            assert wakeups.received >= 3
        finally:
            await wakeups.close()

    try:
        asyncio.run(scenario())
    finally:
        board.close()
        other.close()


def test_a_run_no_worker_drives_notifies_no_one(postgres_dsn: str) -> None:
    board = _run(postgres_dsn, workers=False)

    async def scenario() -> None:
        wakeups = await Wakeups(postgres_dsn, board.run_id).start()
        try:
            board.queue_work("docs", "ours", by=SYSTEM_MEMBER)
            slot = board.open_turn("docs", 1)
            board.pull_work("docs", token=slot.token)
            board.settle_turn(slot.token, ok=True)
            board.update_run(status="complete", reason="done")
            assert not await _woken(wakeups, within=1.0)
            assert wakeups.received == 0
        finally:
            await wakeups.close()

    try:
        asyncio.run(scenario())
    finally:
        board.close()


def test_a_cut_listener_raises(postgres_dsn: str) -> None:
    board = _run(postgres_dsn)

    async def scenario() -> None:
        wakeups = await Wakeups(postgres_dsn, board.run_id).start()
        try:
            assert wakeups._conn is not None
            pid = wakeups._conn.info.backend_pid
            with psycopg.connect(postgres_dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await asyncio.wait_for(asyncio.wait([wakeups.waiter]), WITHIN)
            with pytest.raises(psycopg.Error):
                wakeups.consume()
        finally:
            await wakeups.close()

    try:
        asyncio.run(scenario())
    finally:
        board.close()
