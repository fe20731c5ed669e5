"""Boards made before the run record still open: a SQLite file or a PostgreSQL database
without the record's turn columns and call table gains them when opened; its old turns read
as unknown (no times, no usage), and the run goes on being recorded."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import psycopg

from teammesh.mesh.board import SYSTEM_MEMBER, create_board, list_runs, open_board
from teammesh.mesh.board.call_notes import CallNote
from teammesh.mesh.board.run_record import Usage
from teammesh.mesh.board.sql_record import TURN_RECORD_COLUMNS

from .conftest import ROSTER

_RECORD_COLUMNS = {name for name, _, _ in TURN_RECORD_COLUMNS}


def _sqlite_turn_columns(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute("PRAGMA table_info(turns)")}


def _sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}


def test_an_old_sqlite_board_gains_the_record(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    board = create_board(run_id="old", team="default", roster=ROSTER, path=path)
    board.queue_work("docs", "old work", by=SYSTEM_MEMBER)
    token = board.open_turn("docs", 1).token
    board.close()
    with sqlite3.connect(path) as conn:  # the board as it was before the record
        conn.execute("DROP TABLE call_log")
        for column in _RECORD_COLUMNS:
            conn.execute(f"ALTER TABLE turns DROP COLUMN {column}")
    assert not _RECORD_COLUMNS & _sqlite_turn_columns(path)
    assert [r.run_id for r in list_runs(path)] == ["old"]  # read-only listing still works

    board = open_board(path, "old")
    assert _RECORD_COLUMNS <= _sqlite_turn_columns(path) and "call_log" in _sqlite_tables(path)
    (old,) = board.run_record().turns
    assert (old.token, old.state, old.started_at, old.usage, old.session_id) == (
        token, "open", None, None, None)
    board.record_usage(token, Usage(3, 0, 4, 0), "gpt-4o")
    board.pull_work("docs", token=token, key="sess:1",
                    call=CallNote("sess:1", "docs", token, "team_pull_work", {}))
    board.settle_turn(token, ok=True)
    board.close()

    again = open_board(path, "old")  # opening again changes nothing
    (turn,) = again.run_record().turns
    assert turn.usage == Usage(3, 0, 4, 0) and turn.ended_at is not None
    assert [(c.request_key, c.outcome) for c in again.run_record().calls] == [
        ("sess:1", "applied")]
    again.close()


def test_an_old_postgres_board_gains_the_record(postgres_dsn: str) -> None:
    run_id = f"run-{uuid.uuid4().hex[:10]}"
    board = create_board(run_id=run_id, team="default", roster=ROSTER, path=postgres_dsn)
    token = board.open_turn("docs", 1).token
    board.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE teammesh_call_log")
        for column in _RECORD_COLUMNS:
            conn.execute(f"ALTER TABLE teammesh_turns DROP COLUMN {column}")
    board = open_board(postgres_dsn, run_id)
    try:
        (old,) = board.run_record().turns
        assert (old.started_at, old.usage) == (None, None)
        board.record_usage(token, Usage(3, 1, 4, 2), None)
        board.read_board("docs", 2, key="sess:1",
                         call=CallNote("sess:1", "docs", token, "team_read_board",
                                       {"limit": 2}))
        record = board.run_record()
        assert record.turns[0].usage == Usage(3, 1, 4, 2)
        assert [(c.tool, c.arguments, c.outcome) for c in record.calls] == [
            ("team_read_board", {"limit": 2}, "applied")]
    finally:
        board.close()
