"""Why a turn failed, on the board: `settle_turn(reason=...)` records one short clean line for
a failed or lost turn, on every store; boards made before the `reason` column gain it when
opened (SQLite file, PostgreSQL table)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg

from teammesh.mesh.board import SYSTEM_MEMBER, TeamBoard, create_board, open_board
from teammesh.mesh.board.core import MAX_REASON_CHARS, short_reason

from .conftest import ROSTER
from .old_boards import unversion_pg, unversion_sqlite


def test_a_failed_turn_keeps_its_reason(board: TeamBoard) -> None:
    board.queue_work("docs", "write it", by=SYSTEM_MEMBER)
    slot = board.open_turn("docs", 1)
    board.pull_work("docs", token=slot.token)
    returned = board.settle_turn(
        slot.token, ok=False, reason="turn failed: model endpoint answered HTTP 500: boom")
    assert [t.status for t in returned] == ["queued"]
    (turn,) = board.turns()
    assert (turn.state, turn.reason) == (
        "failed", "turn failed: model endpoint answered HTTP 500: boom")
    assert board.failed_turns() == [turn]


def test_lost_and_ok_turns(board: TeamBoard) -> None:
    lost = board.open_turn("developer", 1)
    board.settle_turn(lost.token, ok=False, lost=True, reason="lost: runner stopped")
    fine = board.open_turn("docs", 1)
    board.settle_turn(fine.token, ok=True, reason="ignored for a turn that went well")
    silent = board.open_turn("reviewer", 1)
    board.settle_turn(silent.token, ok=False)  # no reason given: none recorded
    assert [(t.member, t.state, t.reason) for t in board.turns()] == [
        ("developer", "lost", "lost: runner stopped"), ("docs", "ok", ""),
        ("reviewer", "failed", "")]
    assert [t.member for t in board.failed_turns()] == ["developer", "reviewer"]


def test_only_the_first_settle_counts(board: TeamBoard) -> None:
    slot = board.open_turn("docs", 2)
    board.settle_turn(slot.token, ok=False, reason="first")
    assert board.settle_turn(slot.token, ok=False, reason="second") == []
    assert board.settle_turn(slot.token, ok=True) == []
    assert [(t.state, t.reason) for t in board.turns()] == [("failed", "first")]


def test_the_reason_is_one_short_clean_line(board: TeamBoard) -> None:
    hostile = ("turn failed: \x1b[31mred\x1b[0m\nsecond line\r\n\ttab \u202eevil\x00"
               + "x" * 5000)
    slot = board.open_turn("docs", 1)
    board.settle_turn(slot.token, ok=False, reason=hostile)
    (turn,) = board.turns()
    assert turn.reason == short_reason(hostile)
    assert turn.reason.startswith("turn failed: [31mred [0m second line tab evil x")
    assert len(turn.reason) == MAX_REASON_CHARS and turn.reason.endswith("…")
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c == "\u202e"
                   for c in turn.reason)
    assert short_reason("  a \ud800 b ") == "a ? b"  # a lone surrogate cannot be stored
    assert short_reason("send failed: http://u:s3cret@127.0.0.1:1/api refused") == (
        "send failed: http://127.0.0.1:1/api refused")


def _old_sqlite_board(path: Path, run_id: str) -> str:
    """A board file as boards were before `turns.reason`: one open turn on it."""
    board = create_board(run_id=run_id, team="default", roster=ROSTER, path=path)
    board.queue_work("docs", "old work", by=SYSTEM_MEMBER)
    token = board.open_turn("docs", 1).token
    board.pull_work("docs", token=token)
    board.close()
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE turns DROP COLUMN reason")
        unversion_sqlite(conn)
    return token


def _sqlite_columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute("PRAGMA table_info(turns)")}


def test_an_old_sqlite_board_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    token = _old_sqlite_board(path, "old")
    assert "reason" not in _sqlite_columns(path)
    board = open_board(path, "old")
    assert "reason" in _sqlite_columns(path)
    (turn,) = board.turns()
    assert (turn.state, turn.reason) == ("open", "")  # the old row reads as no reason
    board.settle_turn(token, ok=False, lost=True, reason="lost: resumed")
    board.close()
    again = open_board(path, "old")  # the column is there now: opening again changes nothing
    assert [(t.state, t.reason) for t in again.turns()] == [("lost", "lost: resumed")]
    assert [t.status for t in again.tasks()] == ["queued"]
    again.close()


def test_an_old_postgres_board_gains_the_column(postgres_dsn: str) -> None:
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    board = create_board(run_id=run_id, team="default", roster=ROSTER, path=postgres_dsn)
    token = board.open_turn("docs", 1).token
    board.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE teammesh_turns DROP COLUMN reason")
        unversion_pg(conn)
    board = open_board(postgres_dsn, run_id)
    try:
        with psycopg.connect(postgres_dsn) as conn:
            columns = {row[0] for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'teammesh_turns'")}
        assert "reason" in columns
        board.settle_turn(token, ok=False, reason="turn failed: boom")
        assert [(t.state, t.reason) for t in board.turns()] == [("failed", "turn failed: boom")]
    finally:
        board.close()
