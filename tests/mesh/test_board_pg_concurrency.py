"""Members' writes on one PostgreSQL run, side by side: each member's write locks only the
members it touches (`board/pg_locks.py`), and the board's rules hold all the same.

Many threads (two per member, as two workers wrongly driving one member would) open turns,
claim, publish, hand off and replay every call under its key, on connections of their own:
no task is claimed twice, every effect is applied once, each owner's queue is claimed in the
order it was filled, turn numbers and completion numbers stay unique. And the lock scope
itself: a write held open on one member does not stop another member's write."""

from __future__ import annotations

import collections
import itertools
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board, open_board
from teammesh.mesh.board.pg_locks import member_key

MEMBERS = tuple(f"m{n}" for n in range(6))
SEEDS_PER_MEMBER = 8
CLAIMERS_PER_MEMBER = 2


def _seeded(dsn: str) -> str:
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    board = create_board(run_id=run_id, team="t", roster=MEMBERS, path=dsn)
    for member in MEMBERS:
        for n in range(SEEDS_PER_MEMBER):
            board.queue_work(member, f"seed {member} {n}", by=SYSTEM_MEMBER)
    board.close()
    return run_id


def _next(member: str) -> str:
    return MEMBERS[(MEMBERS.index(member) + 1) % len(MEMBERS)]


def _drive(dsn: str, run_id: str, member: str, name: str, errors: list[BaseException]
           ) -> None:
    """Turns of `member` until the run has no open work; every call made twice under its
    key."""
    board = open_board(dsn, run_id)
    try:
        for round_number in itertools.count(1):
            slot = board.open_turn(member, round_number)
            key = f"{name}:{slot.token}"
            pulled = board.pull_work(member, token=slot.token, key=f"{key}:pull")
            assert board.pull_work(member, token=slot.token, key=f"{key}:pull") == pulled
            task = pulled["task"]
            if task is None:
                board.settle_turn(slot.token, ok=True)
                # A handoff is queued before the claim it comes from is settled: no open
                # work anywhere means none can still arrive.
                if board.open_work() == 0:
                    return
                time.sleep(0.01)
                continue
            for _ in range(2):
                board.publish_artifact(member, "note", f"done: {task}", token=slot.token,
                                       key=f"{key}:publish")
            if task.startswith("seed "):
                for _ in range(2):
                    board.queue_work(_next(member), f"handoff of {task}", by=member,
                                     token=slot.token, key=f"{key}:handoff")
            board.settle_turn(slot.token, ok=True)
    except BaseException as exc:  # reported by the test, not lost in the thread
        errors.append(exc)
    finally:
        board.close()


def _claims_in_commit_order(board: TeamBoard) -> dict[str, list[str]]:
    """Per member, the tasks its applied claims took, in the order they committed (the
    records' `seq` is drawn inside the claim's transaction, under the owner's lock)."""
    claimed: dict[str, list[str]] = collections.defaultdict(list)
    for record in board.records():
        if record.tool == "team_pull_work" and record.result.get("task") is not None:
            claimed[record.member].append(record.result["task"])
    return claimed


def test_members_claim_publish_and_hand_off_side_by_side(postgres_dsn: str) -> None:
    run_id = _seeded(postgres_dsn)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_drive,
                                args=(postgres_dsn, run_id, member, f"{member}-w{n}", errors))
               for member in MEMBERS for n in range(CLAIMERS_PER_MEMBER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t for t in threads if t.is_alive()]
    assert errors == []

    board = open_board(postgres_dsn, run_id)
    try:
        tasks = board.tasks()
        # Every seed and exactly one handoff per seed (the replayed handoff changed nothing).
        assert len(tasks) == 2 * SEEDS_PER_MEMBER * len(MEMBERS)
        assert {t.status for t in tasks} == {"done"}
        claimed = _claims_in_commit_order(board)
        every_claim = [task for member in MEMBERS for task in claimed[member]]
        assert sorted(every_claim) == sorted(t.text for t in tasks)  # 0 double claims
        # FIFO per owner: claims took each owner's tasks in the order they were queued.
        queued_order = {t.text: t.id for t in tasks}
        for member in MEMBERS:
            ids = [queued_order[text] for text in claimed[member]]
            assert ids == sorted(ids), member
        # Every effect once: one artifact per claim, one handoff per seed.
        summaries = [a.summary for a in board.artifacts()]
        assert collections.Counter(summaries) == collections.Counter(
            f"done: {text}" for text in every_claim)
        handoffs = [t.text for t in tasks if t.text.startswith("handoff of ")]
        assert len(handoffs) == len(set(handoffs)) == SEEDS_PER_MEMBER * len(MEMBERS)
        # Each request key recorded once (its primary key), each replayed call replayed.
        keys = [r.key for r in board.records()]
        assert len(keys) == len(set(keys))
    finally:
        board.close()
    _assert_counters_unique(postgres_dsn, run_id)


def _assert_counters_unique(dsn: str, run_id: str) -> None:
    with psycopg.connect(dsn) as conn:
        doubled = conn.execute("SELECT seq FROM teammesh_turns WHERE run_id = %s GROUP BY seq"
                               " HAVING COUNT(*) > 1", (run_id,)).fetchall()
    assert doubled == []


def test_members_complete_at_once_with_distinct_completion_numbers(postgres_dsn: str
                                                                   ) -> None:
    run_id = _seeded(postgres_dsn)
    errors: list[BaseException] = []

    def done(member: str) -> None:
        board = open_board(postgres_dsn, run_id)
        try:
            board.mark_done(member, f"{member} is done", key=f"{member}:done")
        except BaseException as exc:
            errors.append(exc)
        finally:
            board.close()

    threads = [threading.Thread(target=done, args=(m,)) for m in MEMBERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with psycopg.connect(postgres_dsn) as conn:
        numbers = [r[0] for r in conn.execute(
            "SELECT completed_seq FROM teammesh_members WHERE run_id = %s", (run_id,))]
    assert sorted(numbers) == list(range(1, len(MEMBERS) + 1))


def _held(dsn: str, key: tuple[str, str]) -> bool:
    """Whether another transaction holds the member lock `key` now (tried, not waited)."""
    with psycopg.connect(dsn) as conn:
        row: Any = conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s), hashtext(%s))",
                                key).fetchone()
        return not row[0]


def test_a_write_held_on_one_member_does_not_stop_another_members(postgres_dsn: str
                                                                  ) -> None:
    run_id = _seeded(postgres_dsn)
    holder = open_board(postgres_dsn, run_id)
    other = open_board(postgres_dsn, run_id)
    inside, release = threading.Event(), threading.Event()

    def hold_m0() -> None:
        with holder._store.transaction(write=True, members=("m0",)):
            inside.set()
            release.wait(60)

    thread = threading.Thread(target=hold_m0)
    thread.start()
    try:
        assert inside.wait(30)
        assert _held(postgres_dsn, member_key(run_id, "m0"))
        assert not _held(postgres_dsn, member_key(run_id, "m1"))
        # m1's claim commits while m0's write is open (under a run-wide lock it would wait:
        # the statement timeout turns that wait into a failure, not a hang).
        with other._store.transaction(write=False) as tx:
            tx._c.execute("SET statement_timeout = '20s'")
        claimed = other.pull_work("m1", token="t1", key="m1-claim")
        assert claimed["task"] == "seed m1 0"
    finally:
        release.set()
        thread.join(timeout=60)
        holder.close()
        other.close()


@pytest.mark.parametrize("members", [None, ("m1",)])
def test_run_wide_writes_still_exclude_members(postgres_dsn: str,
                                               members: tuple[str, ...] | None) -> None:
    """A run-wide write (the run's status, say) waits for every member's write and the
    reverse: the run's lock is exclusive for it, shared for members'."""
    run_id = _seeded(postgres_dsn)
    board = open_board(postgres_dsn, run_id)
    try:
        with board._store.transaction(write=True, members=members), \
                psycopg.connect(postgres_dsn, autocommit=True) as probe:
            exclusive = probe.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                                      (f"teammesh:{run_id}",)).fetchone()
            shared = probe.execute("SELECT pg_try_advisory_lock_shared(hashtext(%s))",
                                   (f"teammesh:{run_id}",)).fetchone()
            assert exclusive is not None and not exclusive[0]
            assert shared is not None and shared[0] is (members is not None)
    finally:
        board.close()
