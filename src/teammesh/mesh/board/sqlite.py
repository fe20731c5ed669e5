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
from teammesh.mesh.board.protocol import DEFAULT_MAX_ATTEMPTS, Members, RunInfo
from teammesh.mesh.board.schema import migrate_sqlite
from teammesh.mesh.board.sql import SqlStore, SqlTx, UnknownRun, run_info
from teammesh.mesh.board.storage_errors import (
    BoardStorageError,
    is_storage_failure,
    set_durability,
)
from teammesh.private_files import private_parent, private_sqlite

__all__ = ["NotABoard", "SqliteStore", "UnknownRun", "list_runs"]

# The schema is `migrations.SQLITE_MIGRATIONS`, applied in order when a board is opened
# (`schema.migrate_sqlite`): a board made by an older teammesh gains what it lacks, and a
# board newer than this code is refused.


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
        migrate_sqlite(self._conn, str(self.path))
        self._lock = threading.RLock()

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
    def transaction(self, *, write: bool, members: Members = None) -> Iterator[_SqliteTx]:
        # `members` changes nothing here: SQLite has one writer at a time anyway.
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
