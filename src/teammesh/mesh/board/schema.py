"""Bringing a board's schema up to this code's version (`migrations.py`), once, under a lock.

Opening a board reads its version first, without a lock: a board already current (every
open but the first after an upgrade) costs one read. Otherwise the opener takes the
database's schema lock (SQLite: `BEGIN IMMEDIATE`, PostgreSQL: an advisory lock), reads the
version again (another opener may have migrated meanwhile) and applies the missing
migrations in order, each recorded in `schema_version`, all in one transaction: a
migration that fails leaves the board at the version it had.

A board newer than the code is refused (`BoardTooNew`) before anything is written: an older
teammesh would not know what the newer columns and rules mean.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from teammesh.mesh.board.files import NotABoard
from teammesh.mesh.board.migrations import (
    LATEST,
    PG_MIGRATIONS,
    SQLITE_MIGRATIONS,
    AddColumns,
    Migration,
)

PG_SCHEMA_LOCK = 0x7EA3_3E5B  # the same key the unversioned stores used: old and new agree


class BoardTooNew(NotABoard):
    """The board's schema is newer than this teammesh (a `NotABoard`: the commands that
    refuse a wrong board file refuse it the same way, in one line)."""


def _refuse_newer(found: int, where: str) -> None:
    if found > LATEST:
        raise BoardTooNew(
            f"the board {where} has schema version {found}, newer than this teammesh"
            f" knows ({LATEST}): upgrade teammesh to open it")


def _apply(migrations: tuple[Migration, ...], found: int, run: Callable[[str], Any],
           add_columns: Callable[[AddColumns], None], record: Callable[[Migration], None]
           ) -> None:
    for migration in migrations:
        if migration.version <= found:
            continue
        for step in migration.steps:
            if isinstance(step, AddColumns):
                add_columns(step)
            else:
                run(step)
        record(migration)


# -- SQLite --------------------------------------------------------------------------------

_SQLITE_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
    " description TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")


def sqlite_version(conn: sqlite3.Connection) -> int:
    """The board's schema version: 0 for a board made before versioning (or a new file)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                          " AND name = 'schema_version'").fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate_sqlite(conn: sqlite3.Connection, where: str) -> None:
    """Bring the board on `conn` (autocommit mode) to `LATEST`."""
    found = sqlite_version(conn)
    _refuse_newer(found, where)
    if found == LATEST:
        return
    conn.execute("BEGIN IMMEDIATE")  # the write lock first: one migrator at a time
    try:
        found = sqlite_version(conn)
        _refuse_newer(found, where)

        def add_columns(step: AddColumns) -> None:
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({step.table})")}
            for name, declaration in step.columns:
                if name not in have:
                    conn.execute(f"ALTER TABLE {step.table} ADD COLUMN {name} {declaration}")

        def record(migration: Migration) -> None:
            conn.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)",
                         (migration.version, migration.description))

        conn.execute(_SQLITE_VERSION_TABLE)
        _apply(SQLITE_MIGRATIONS, found, conn.execute, add_columns, record)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# -- PostgreSQL ----------------------------------------------------------------------------

_PG_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS teammesh_schema_version (version INTEGER PRIMARY KEY,"
    " description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")


def pg_version(conn: Any) -> int:
    """The database's board schema version (0: made before versioning, or empty)."""
    row = conn.execute("SELECT to_regclass('teammesh_schema_version') IS NOT NULL AS there"
                       ).fetchone()
    if not _first(row):
        return 0
    row = conn.execute("SELECT MAX(version) AS v FROM teammesh_schema_version").fetchone()
    return int(_first(row) or 0)


def _first(row: Any) -> Any:
    if row is None:
        return None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


def migrate_pg(conn: Any, where: str) -> None:
    """Bring the database on `conn` (a psycopg connection) to `LATEST`."""
    with conn.transaction():
        found = pg_version(conn)
    _refuse_newer(found, where)
    if found == LATEST:
        return
    # A session-level lock, taken in a transaction of its own: the migrating transaction
    # then starts after the lock is held, so it reads the catalog as the previous migrator
    # left it (a transaction that waited for the lock may keep a catalog snapshot from
    # before, and not see the version table that migrator made).
    with conn.transaction():
        conn.execute("SELECT pg_advisory_lock(%s)", (PG_SCHEMA_LOCK,))
    try:
        with conn.transaction():
            _migrate_pg_locked(conn, where)
    finally:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_unlock(%s)", (PG_SCHEMA_LOCK,))


def _migrate_pg_locked(conn: Any, where: str) -> None:
    found = pg_version(conn)
    _refuse_newer(found, where)

    def add_columns(step: AddColumns) -> None:
        for name, declaration in step.columns:
            conn.execute(f"ALTER TABLE {step.table} ADD COLUMN IF NOT EXISTS"
                         f" {name} {declaration}")

    def record(migration: Migration) -> None:
        conn.execute("INSERT INTO teammesh_schema_version (version, description)"
                     " VALUES (%s, %s)", (migration.version, migration.description))

    conn.execute(_PG_VERSION_TABLE)
    _apply(PG_MIGRATIONS, found, conn.execute, add_columns, record)
