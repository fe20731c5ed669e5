"""The PostgreSQL store: one database shared by many runs (and runners on many machines).

Same rules, same records as the SQLite store. Every write transaction first takes a
transaction-scoped advisory lock on its run, so a claim's select-then-update is atomic
across connections, processes and machines (the role `BEGIN IMMEDIATE` plays in SQLite).
Tables are prefixed `teammesh_` so the database may hold other things too. The indexes
after the tables are the SQLite store's (see `sqlite._INDEXES`): one database holds many
runs, so every lookup a tool call or a turn makes starts with its run's id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from teammesh.mesh.board.protocol import DEFAULT_MAX_ATTEMPTS, RunInfo
from teammesh.mesh.board.sql import SqlStore, SqlTx, run_info
from teammesh.mesh.board.sql_record import TURN_RECORD_COLUMNS

_SCHEMA_LOCK = 0x7EA3_3E5B  # serialises schema creation by concurrent first users

_SCHEMA = """
CREATE TABLE IF NOT EXISTS teammesh_runs (
    run_id TEXT PRIMARY KEY, team TEXT NOT NULL, roster TEXT NOT NULL,
    status TEXT NOT NULL, round INTEGER NOT NULL, reason TEXT NOT NULL,
    max_attempts INTEGER NOT NULL, team_text TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    meta TEXT NOT NULL DEFAULT '{}');
ALTER TABLE teammesh_runs ADD COLUMN IF NOT EXISTS meta TEXT NOT NULL DEFAULT '{}';
CREATE TABLE IF NOT EXISTS teammesh_members (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT, completed_seq INTEGER,
    PRIMARY KEY (run_id, member));
CREATE TABLE IF NOT EXISTS teammesh_tasks (
    id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, owner TEXT NOT NULL, text TEXT NOT NULL,
    queued_by TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    claim_token TEXT, chain TEXT NOT NULL, parent_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS teammesh_tasks_queue ON teammesh_tasks (run_id, owner, status, id);
CREATE TABLE IF NOT EXISTS teammesh_artifacts (
    id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, member TEXT NOT NULL,
    kind TEXT NOT NULL, summary TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS teammesh_turns (
    run_id TEXT NOT NULL, token TEXT NOT NULL, member TEXT NOT NULL, round INTEGER NOT NULL,
    turn_id TEXT, state TEXT NOT NULL, seq INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, token));
ALTER TABLE teammesh_turns ADD COLUMN IF NOT EXISTS reason TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS teammesh_approvals (
    id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, request_key TEXT, member TEXT NOT NULL,
    tool TEXT NOT NULL, question TEXT NOT NULL, state TEXT NOT NULL,
    answered_by TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS teammesh_tool_calls (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL,
    tool TEXT NOT NULL, result TEXT NOT NULL, seq BIGSERIAL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (run_id, request_key));
CREATE TABLE IF NOT EXISTS teammesh_effects (
    run_id TEXT NOT NULL, effect_key TEXT NOT NULL, token TEXT NOT NULL,
    member TEXT NOT NULL, tool TEXT NOT NULL, result TEXT NOT NULL, seq BIGSERIAL,
    PRIMARY KEY (run_id, effect_key, token));
CREATE TABLE IF NOT EXISTS teammesh_call_log (
    run_id TEXT NOT NULL, request_key TEXT NOT NULL, member TEXT NOT NULL, turn_token TEXT,
    tool TEXT NOT NULL, arguments TEXT NOT NULL, result TEXT NOT NULL, success INTEGER,
    outcome TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', started_at DOUBLE PRECISION,
    ended_at DOUBLE PRECISION, seq BIGSERIAL, PRIMARY KEY (run_id, request_key));
CREATE TABLE IF NOT EXISTS teammesh_transcripts (
    run_id TEXT NOT NULL, member TEXT NOT NULL, session_id TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (run_id, member));
CREATE INDEX IF NOT EXISTS teammesh_tasks_claims ON teammesh_tasks (run_id, claim_token);
CREATE INDEX IF NOT EXISTS teammesh_tasks_status ON teammesh_tasks (run_id, status, owner);
CREATE INDEX IF NOT EXISTS teammesh_turns_order ON teammesh_turns (run_id, seq);
CREATE INDEX IF NOT EXISTS teammesh_turns_state ON teammesh_turns (run_id, state, seq);
CREATE INDEX IF NOT EXISTS teammesh_artifacts_recent ON teammesh_artifacts (run_id, id);
""" + "".join(  # the run record's turn columns, gained by tables made before them
    f"ALTER TABLE teammesh_turns ADD COLUMN IF NOT EXISTS {name} {kind};\n"
    for name, _, kind in TURN_RECORD_COLUMNS)


Row = dict[str, Any]


class _PostgresTx(SqlTx):
    PARAM = "%s"
    PREFIX = "teammesh_"
    ORDER = "seq"


class PostgresStore(SqlStore):
    """One run's board in a PostgreSQL database (tables created on first use)."""

    def __init__(self, dsn: str, run_id: str) -> None:
        self.dsn = dsn
        self._run_id = run_id
        self._conn: psycopg.Connection[Row] = psycopg.connect(dsn, row_factory=dict_row)
        self._lock = threading.RLock()
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._conn.execute(_SCHEMA)

    @classmethod
    def create(cls, dsn: str, *, run_id: str, team: str, roster: tuple[str, ...],
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "",
               meta: dict[str, Any] | None = None) -> PostgresStore:
        store = cls(dsn, run_id)
        store._start_run(team=team, roster=roster, max_attempts=max_attempts,
                         team_text=team_text, meta=meta)
        return store

    @classmethod
    def open(cls, dsn: str, *, run_id: str) -> PostgresStore:
        store = cls(dsn, run_id)
        store._require_run(str(redact(dsn)))
        return store

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[_PostgresTx]:
        with self._lock, self._conn.transaction():
            if write:
                # One writer per run at a time, across every connection to the database.
                self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                                   (f"teammesh:{self._run_id}",))
            yield _PostgresTx(self._conn, self._run_id)


def list_pg_runs(dsn: str) -> list[RunInfo]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        try:
            rows = conn.execute("SELECT * FROM teammesh_runs ORDER BY created_at").fetchall()
        except psycopg.errors.UndefinedTable:
            return []
    return [run_info(r) for r in rows]


def redact(dsn: str) -> str:
    """A DSN fit for messages: no password (in the userinfo or a `password=` option)."""
    from teammesh.mesh.board.dsn_redact import redact_dsn  # here: a one-hunk edit

    return redact_dsn(dsn)


class PgRunLock:
    """One runner per run, across machines: a session-level advisory lock on a connection
    of its own, held while the run goes; the server drops it when that connection dies."""

    def __init__(self, dsn: str, run_id: str) -> None:
        self.dsn = dsn
        self.run_id = run_id
        self._conn: psycopg.Connection[Row] | None = None

    def acquire(self) -> PgRunLock:
        from teammesh.mesh.board.lock import RunBusy

        conn: psycopg.Connection[Row] = psycopg.connect(self.dsn, autocommit=True,
                                                        row_factory=dict_row)
        row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s)) AS got",
                           (f"teammesh-run:{self.run_id}",)).fetchone()
        if row is None or not row["got"]:
            conn.close()
            raise RunBusy("run is being run by another runner")
        self._conn = conn
        return self

    def held_elsewhere(self) -> bool:
        """Whether another runner holds this run's lock now (asked by taking it a moment)."""
        from teammesh.mesh.board.lock import RunBusy

        if self._conn is not None:
            return False
        try:
            self.acquire()
        except RunBusy:
            return True
        self.release()
        return False

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
