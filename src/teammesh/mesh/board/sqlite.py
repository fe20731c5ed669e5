"""The SQLite store: the durable default, one WAL file per run.

Every write transaction starts with `BEGIN IMMEDIATE`, which takes SQLite's write lock before
the first read, so a claim's select-then-update cannot interleave with another writer's, in
this process or another one on the same file. Rows carry `run_id` so the same schema serves a
database shared by many runs (the shape the PostgreSQL store keeps too).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from teammesh.mesh.board.files import (
    NotABoard,
    check_new_board_target,
    readonly_uri,
    require_board_file,
)
from teammesh.mesh.board.protocol import DEFAULT_MAX_ATTEMPTS, RunInfo
from teammesh.mesh.board.sql import SqlStore, SqlTx, UnknownRun, run_info
from teammesh.mesh.board.sql_record import TURN_RECORD_COLUMNS
from teammesh.mesh.board.storage_errors import (
    BoardStorageError,
    is_storage_failure,
    set_durability,
)
from teammesh.private_files import private_parent, private_sqlite

__all__ = ["NotABoard", "SqliteStore", "UnknownRun", "list_runs"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, team TEXT NOT NULL, roster TEXT NOT NULL,
    status TEXT NOT NULL, round INTEGER NOT NULL, reason TEXT NOT NULL,
    max_attempts INTEGER NOT NULL, team_text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    meta TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS members (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT,
    completed_seq INTEGER, PRIMARY KEY (run_id, member));
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, owner TEXT NOT NULL,
    text TEXT NOT NULL, queued_by TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, claim_token TEXT, chain TEXT NOT NULL,
    parent_id INTEGER, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE INDEX IF NOT EXISTS tasks_queue ON tasks (run_id, owner, status, id);
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, member TEXT NOT NULL,
    kind TEXT NOT NULL, summary TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS turns (
    run_id TEXT NOT NULL, token TEXT NOT NULL, member TEXT NOT NULL, round INTEGER NOT NULL,
    turn_id TEXT, state TEXT NOT NULL, seq INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, token));
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, request_key TEXT,
    member TEXT NOT NULL, tool TEXT NOT NULL, question TEXT NOT NULL, state TEXT NOT NULL,
    answered_by TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS tool_calls (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL,
    tool TEXT NOT NULL, result TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (run_id, request_key));
CREATE TABLE IF NOT EXISTS effects (
    run_id TEXT NOT NULL, effect_key TEXT NOT NULL, token TEXT NOT NULL,
    member TEXT NOT NULL, tool TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (run_id, effect_key, token));
CREATE TABLE IF NOT EXISTS call_log (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL, turn_token TEXT,
    tool TEXT NOT NULL, arguments TEXT NOT NULL, result TEXT NOT NULL, success INTEGER,
    outcome TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', started_at REAL, ended_at REAL,
    PRIMARY KEY (run_id, request_key));
CREATE TABLE IF NOT EXISTS transcripts (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (run_id, member));
"""

# What a tool call or a turn looks up, so no call reads every row of its run: a turn's
# claims (settling it), the queues by status (snapshots, dead letters), the open turns and
# the next turn's number, the latest artifacts. Created on every open like the tables: a
# board made before them gains them when it is next opened (each column they name is as old
# as the board format), and an older teammesh still reads a board that has them (an index
# changes no row). The schema has no version number: it only ever gains things.
_INDEXES = """
CREATE INDEX IF NOT EXISTS tasks_claims ON tasks (run_id, claim_token);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks (run_id, status, owner);
CREATE INDEX IF NOT EXISTS turns_order ON turns (run_id, seq);
CREATE INDEX IF NOT EXISTS turns_state ON turns (run_id, state, seq);
CREATE INDEX IF NOT EXISTS artifacts_recent ON artifacts (run_id, id);
"""


class _SqliteTx(SqlTx):
    PARAM = "?"
    PREFIX = ""
    ORDER = "rowid"


class SqliteStore(SqlStore):
    """One run's board in a SQLite file (created on first use, WAL mode)."""

    def __init__(self, path: str | Path, run_id: str) -> None:
        self.path = Path(path)
        self._run_id = run_id
        # Owner-only board file (and its -wal/-shm); a `.teammesh/runs` folder is tightened,
        # a folder the user picked is only created if missing (teammesh.private_files).
        private_parent(self.path)
        private_sqlite(self.path)
        # Autocommit mode: transactions are opened explicitly below. One connection per
        # store, guarded by a lock, so threads of one process share it safely.
        self._conn: sqlite3.Connection = sqlite3.connect(
            self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)
        # Boards made before a column existed gain it when opened (the run record's turn
        # columns are NULL in old rows: unknown).
        self._add_columns("runs", [("meta", "TEXT NOT NULL DEFAULT '{}'")])
        self._add_columns("turns", [("reason", "TEXT NOT NULL DEFAULT ''"),
                                    *((name, kind) for name, kind, _ in TURN_RECORD_COLUMNS)])
        self._conn.executescript(_INDEXES)
        self._lock = threading.RLock()

    def _add_columns(self, table: str, wanted: list[tuple[str, str]]) -> None:
        """Add the missing `(column, declaration)`s to an old board's `table`. Two processes
        opening the same old board may both find one missing: the second ALTER's "duplicate
        column" is that race, lost."""
        columns = {row["name"] for row in self._conn.execute(f"PRAGMA table_info({table})")}
        for column, declaration in wanted:
            if column in columns:
                continue
            try:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            except sqlite3.OperationalError as exc:
                if "duplicate column" not in str(exc).lower():
                    raise

    @classmethod
    def create(cls, path: str | Path, *, run_id: str, team: str, roster: tuple[str, ...],
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "",
               meta: dict[str, Any] | None = None) -> SqliteStore:
        check_new_board_target(path)  # never write our tables into someone else's file
        store = cls(path, run_id)
        store._start_run(team=team, roster=roster, max_attempts=max_attempts,
                         team_text=team_text, meta=meta)
        return store

    @classmethod
    def open(cls, path: str | Path, *, run_id: str) -> SqliteStore:
        """An existing run; raises `UnknownRun` when the file does not hold it (or is no
        board at all: `NotABoard`, a subclass, names what it is instead)."""
        try:
            require_board_file(path)
        except NotABoard as exc:
            raise UnknownRunFile(str(exc)) from None
        store = cls(path, run_id)
        store._require_run(str(path))
        return store

    def set_durability(self, durability: str) -> None:
        set_durability(self._conn, durability)

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[_SqliteTx]:
        with self._lock:
            # Reads also run in a transaction: a consistent view across their statements.
            try:
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield _SqliteTx(self._conn, self._run_id)
                except BaseException:
                    with suppress(sqlite3.Error):  # a failed COMMIT may have rolled back
                        self._conn.execute("ROLLBACK")
                    raise
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if is_storage_failure(exc):
                    raise BoardStorageError(f"the board {self.path} cannot be written: {exc}"
                                            ) from exc
                raise


class UnknownRunFile(UnknownRun, NotABoard):
    """`--resume` / `board show` named a file that is no board: both an unknown run (for
    callers that catch that) and a wrong file."""


def list_runs(path: str | Path) -> list[RunInfo]:
    """Every run held in a board file (for `teammesh board show` without an id). Read-only:
    a missing or foreign file raises `NotABoard` and is left as it was."""
    require_board_file(path)
    try:
        conn = sqlite3.connect(readonly_uri(path), uri=True)
        conn.row_factory = sqlite3.Row
        try:
            rows = conn.execute("SELECT * FROM runs ORDER BY created_at, rowid").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise NotABoard(f"{path} cannot be read as a board: {exc}") from None
    return [run_info(r) for r in rows]
