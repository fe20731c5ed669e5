"""Member and coordinator leases in PostgreSQL: one live holder per member, taken over only
after expiry (epoch up by one), and the database itself refusing a turn no live lease
covers, a second open turn of one member, and a worker whose lease connection was cut."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board, open_board
from teammesh.mesh.board.leases import COORDINATOR, LeaseLost, PgLeases, bind_worker

from .conftest import ROSTER


def _eventually(check: Callable[[], bool], within: float = 30.0) -> None:
    """A generous bound for "eventually" (no timing assertion: only that it happens)."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.05)


@pytest.fixture
def run_id(postgres_dsn: str) -> Iterator[str]:
    run = f"run-{uuid.uuid4().hex[:10]}"
    board = create_board(run_id=run, team="default", roster=ROSTER, path=postgres_dsn)
    board.queue_work("docs", "some work", by=SYSTEM_MEMBER)
    board.close()
    yield run


def _worker_board(dsn: str, run: str, worker: str) -> TeamBoard:
    board = open_board(dsn, run)
    bind_worker(board._store, worker)
    return board


def test_one_live_holder_then_takeover_after_expiry(postgres_dsn: str, run_id: str) -> None:
    first = PgLeases(postgres_dsn, run_id, "w1", seconds=0.5)
    second = PgLeases(postgres_dsn, run_id, "w2", seconds=30)
    try:
        assert first.take("docs") == 1
        assert first.take("docs") == 1  # its own lease: kept, same epoch
        assert second.take("docs") is None
        assert second.unowned(ROSTER) == ["developer", "reviewer"]
        _eventually(lambda: second.take("docs") is not None)
        (lease,) = [x for x in second.leases() if x.member == "docs"]
        assert (lease.holder, lease.epoch, lease.live) == ("w2", 2, True)
        assert first.renew(["docs"]) == set()  # lost, and not revived by a late renewal
        assert second.renew(["docs", "developer"]) == {"docs"}
        second.release(["docs"])
        assert first.take("docs") == 3
    finally:
        first.close()
        second.close()


def test_the_coordinator_lease_is_exclusive(postgres_dsn: str, run_id: str) -> None:
    a, b = (PgLeases(postgres_dsn, run_id, w) for w in ("wa", "wb"))
    try:
        assert a.take(COORDINATOR) == 1 and b.take(COORDINATOR) is None
        assert a.unowned(ROSTER) == list(ROSTER)  # the coordinator is no member
    finally:
        a.close()
        b.close()


def test_the_database_refuses_a_turn_without_a_live_lease(postgres_dsn: str,
                                                          run_id: str) -> None:
    leases = PgLeases(postgres_dsn, run_id, "w1", seconds=30)
    board = _worker_board(postgres_dsn, run_id, "w1")
    intruder = _worker_board(postgres_dsn, run_id, "w2")
    try:
        with pytest.raises(LeaseLost, match="w1 holds no live lease on member docs"):
            board.open_turn("docs", 1)
        assert board.open_turns() == []  # refused in the same transaction: nothing written
        assert leases.take("docs") == 1
        slot = board.open_turn("docs", 1)
        with pytest.raises(LeaseLost):
            intruder.open_turn("docs", 1)
        assert [s.token for s in board.open_turns()] == [slot.token]
    finally:
        for closing in (board, intruder, leases):
            closing.close()


def test_a_worker_never_has_two_open_turns_of_one_member(postgres_dsn: str,
                                                          run_id: str) -> None:
    leases = PgLeases(postgres_dsn, run_id, "w1", seconds=30)
    board = _worker_board(postgres_dsn, run_id, "w1")
    try:
        assert leases.take("docs") == 1
        first = board.open_turn("docs", 1)
        with pytest.raises(LeaseLost, match=r"member docs of run \S+ already has an open turn"):
            board.open_turn("docs", 1)
        board.settle_turn(first.token, ok=True)
        board.open_turn("docs", 2)  # the next turn, once the first is settled
    finally:
        board.close()
        leases.close()


def test_racing_workers_never_both_run_a_turn_of_one_member(postgres_dsn: str,
                                                             run_id: str) -> None:
    workers = [f"racer{n}" for n in range(6)]
    start = threading.Barrier(len(workers))
    opened: list[str] = []
    refused: list[str] = []

    def race(worker: str) -> None:
        leases = PgLeases(postgres_dsn, run_id, worker, seconds=30)
        board = _worker_board(postgres_dsn, run_id, worker)
        try:
            start.wait()
            leases.take("reviewer")
            try:
                board.open_turn("reviewer", 1)
                opened.append(worker)
            except LeaseLost:
                refused.append(worker)
        finally:
            board.close()
            leases.close()

    threads = [threading.Thread(target=race, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 1 and len(refused) == len(workers) - 1


def test_a_cut_lease_connection_behaves_like_death(postgres_dsn: str, run_id: str) -> None:
    """`pg_terminate_backend` on the worker's lease connection: its heartbeat fails, its
    lease runs out, another worker takes the member over and the first cannot open a turn."""
    doomed = PgLeases(postgres_dsn, run_id, "doomed", seconds=0.5)
    board = _worker_board(postgres_dsn, run_id, "doomed")
    heir = PgLeases(postgres_dsn, run_id, "heir", seconds=30)
    try:
        assert doomed.take("docs") == 1
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            pid = doomed._conn.info.backend_pid
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            doomed.renew(["docs"])
        _eventually(lambda: heir.take("docs") is not None)
        with pytest.raises(LeaseLost):
            board.open_turn("docs", 1)
    finally:
        board.close()
        heir.close()
        doomed.close()


def test_deleting_a_run_deletes_its_leases(postgres_dsn: str, run_id: str) -> None:
    leases = PgLeases(postgres_dsn, run_id, "w1", seconds=30)
    try:
        assert leases.take("docs") == 1
        board = open_board(postgres_dsn, run_id)
        board._store.delete_run()
        board.close()
        assert leases.leases() == []
    finally:
        leases.close()
