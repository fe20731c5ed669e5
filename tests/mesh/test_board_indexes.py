"""No tool call or turn reads every row of its run: on SQLite, every statement the board runs
for a member's turn (open, claim, publish, hand off, settle, requeue, the round's checks)
finds its rows through an index (`EXPLAIN QUERY PLAN` reads no table in full nor all of a
run's rows), on a board that holds other runs too; boards made before the indexes gain
them when opened (PostgreSQL too).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg
import pytest

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board, open_board
from teammesh.mesh.board.sqlite import SqliteStore

from .conftest import ROSTER
from .old_boards import unversion_pg, unversion_sqlite

NEW_INDEXES = {"tasks_claims", "tasks_status", "turns_order", "turns_state",
               "artifacts_recent"}
RUN_TABLES = ("tasks", "turns", "artifacts", "effects", "tool_calls", "approvals")


def _statements_of_a_turn(board: TeamBoard) -> list[str]:
    """The SQL (with its values) the board runs for one member's turn and the round's
    checks around it."""
    store = board._store
    assert isinstance(store, SqliteStore)
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    try:
        slot = board.open_turn("docs", 1)
        board.requeue_stray_claims("docs", {slot.token})
        board.set_turn_id(slot.token, "turn-1")
        board.pull_work("docs", token=slot.token, key="k-pull")
        board.publish_artifact("docs", "note", "a summary", key="k-pub", token=slot.token)
        board.queue_work("reviewer", "check it", by="docs", key="k-queue", token=slot.token)
        board.settle_turn(slot.token, ok=True)
        board.snapshot(limit=1)
        board.queue_depth("docs")
        board.open_turns()
        board.dead_letters()
        board.open_work()
    finally:
        store._conn.set_trace_callback(None)
    return [s for s in seen if s.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]


# Plans that name all of a run's rows of one table, and why they are cheap: the next turn's
# number is MAX(seq) over the index (one seek), the latest artifacts are read newest first
# along the index and stop at the LIMIT, and the artifact count walks a covering index (a few
# microseconds per thousand artifacts: kept, since a stored counter would drift when an
# older teammesh writes to the same board).
WHOLE_RUN_ALLOWED = ("(SELECT COALESCE(MAX(seq), 0) + 1 FROM turns",
                     "ORDER BY id DESC LIMIT",
                     "SELECT COUNT(*) AS n FROM artifacts WHERE run_id")


def _whole_run_reads(conn: sqlite3.Connection, statement: str) -> list[str]:
    """The plan's steps that read a table in full, or all of one run's rows of it."""
    if any(allowed in statement for allowed in WHOLE_RUN_ALLOWED):
        return []
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement)]
    return [step for step in plan
            if any(step.startswith((f"SCAN {t}", f"SEARCH {t} ")) for t in RUN_TABLES)
            and (step.startswith("SCAN") or step.endswith("(run_id=?)"))]


def _busy_board(path: Path, run_id: str) -> TeamBoard:
    board = create_board(run_id=run_id, team="default", roster=ROSTER, path=path)
    for index in range(50):
        board.queue_work(ROSTER[index % 3], f"task {index}", by=SYSTEM_MEMBER)
    return board


def test_a_turn_reads_its_rows_through_indexes(tmp_path: Path) -> None:
    path = tmp_path / "board.sqlite"
    _busy_board(path, "run-other").close()  # another run's rows in the same file
    board = _busy_board(path, "run-mine")
    statements = _statements_of_a_turn(board)
    assert any("claim_token" in s for s in statements)  # the trace saw the turn's queries
    conn = board._store._conn  # type: ignore[attr-defined]
    scans = {s: found for s in statements if (found := _whole_run_reads(conn, s))}
    assert scans == {}
    board.close()


def test_without_the_indexes_the_same_turn_scans(tmp_path: Path) -> None:
    """The check above can fail: without the new indexes (the schema before them), settling
    a turn reads every task of its run."""
    path = tmp_path / "board.sqlite"
    board = _busy_board(path, "run-mine")
    conn = board._store._conn  # type: ignore[attr-defined]
    for name in NEW_INDEXES:
        conn.execute(f"DROP INDEX {name}")
    statements = _statements_of_a_turn(board)
    assert any(_whole_run_reads(conn, s) for s in statements)
    board.close()


def _sqlite_indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_an_old_sqlite_board_gains_the_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    board = _busy_board(path, "run-old")
    slot = board.open_turn("docs", 1)
    board.pull_work("docs", token=slot.token)
    board.close()
    with sqlite3.connect(path) as conn:
        for name in NEW_INDEXES:
            conn.execute(f"DROP INDEX {name}")
        unversion_sqlite(conn)
    assert not NEW_INDEXES & _sqlite_indexes(path)
    again = open_board(path, "run-old")
    assert NEW_INDEXES <= _sqlite_indexes(path)
    assert [t.text for t in again.tasks() if t.claim_token == slot.token] == ["task 1"]
    assert again.settle_turn(slot.token, ok=False) != []
    assert again.queue_depth("docs") == 17
    again.close()


def test_an_old_postgres_board_gains_the_indexes(postgres_dsn: str) -> None:
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    board = create_board(run_id=run_id, team="default", roster=ROSTER, path=postgres_dsn)
    board.queue_work("docs", "kept", by=SYSTEM_MEMBER)
    board.close()
    names = {f"teammesh_{n}" for n in NEW_INDEXES}

    def present() -> set[str]:
        with psycopg.connect(postgres_dsn) as conn:
            return {row[0] for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'teammesh_%'")}

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        unversion_pg(conn)
    assert not names & present()
    again = open_board(postgres_dsn, run_id)
    try:
        assert names <= present()
        assert [t.text for t in again.tasks()] == ["kept"]
    finally:
        again.close()


@pytest.mark.parametrize("member", ROSTER)
def test_queue_depths_count_every_member(board: TeamBoard, member: str) -> None:
    for index in range(3):
        board.queue_work(member, f"t{index}", by=SYSTEM_MEMBER)
    slot = board.open_turn(member, 1)
    board.pull_work(member, token=slot.token)
    depths = board.snapshot()["queueDepths"]
    assert depths == {m: (2 if m == member else 0) for m in ROSTER}
    assert board.open_work() == 3
