"""The PostgreSQL store: one database shared by many runs (and runners on many machines).

Same rules, same records as the SQLite store. Every write transaction first takes a
transaction-scoped advisory lock on its run, so a claim's select-then-update is atomic
across connections, processes and machines (the role `BEGIN IMMEDIATE` plays in SQLite).
Tables are prefixed `teammesh_` so the database may hold other things too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from teammesh.mesh.board.protocol import (
    DEFAULT_MAX_ATTEMPTS,
    ApprovalRecord,
    ApprovalState,
    Artifact,
    EffectRecord,
    RunInfo,
    RunStatus,
    TaskRecord,
    TaskStatus,
    ToolCallRecord,
    TurnSlot,
    TurnState,
)
from teammesh.mesh.board.sqlite import UnknownRun

DSN_PREFIXES = ("postgresql://", "postgres://")
_SCHEMA_LOCK = 0x7EA3_3E5B  # serialises schema creation by concurrent first users

_SCHEMA = """
CREATE TABLE IF NOT EXISTS teammesh_runs (
    run_id TEXT PRIMARY KEY, team TEXT NOT NULL, roster TEXT NOT NULL,
    status TEXT NOT NULL, round INTEGER NOT NULL, reason TEXT NOT NULL,
    max_attempts INTEGER NOT NULL, team_text TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
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
    turn_id TEXT, state TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (run_id, token));
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
"""


def is_dsn(board: str | None) -> bool:
    return board is not None and board.startswith(DSN_PREFIXES)


Row = dict[str, Any]


class _PostgresTx:
    def __init__(self, conn: psycopg.Connection[Row], run_id: str) -> None:
        self._c = conn
        self._run = run_id

    def _all(self, sql: str, *args: Any) -> list[Row]:
        return self._c.execute(sql, (self._run, *args)).fetchall()

    def run(self) -> RunInfo:
        row = self._c.execute("SELECT * FROM teammesh_runs WHERE run_id = %s",
                              (self._run,)).fetchone()
        if row is None:
            raise UnknownRun(self._run)
        return _run_info(row)

    def update_run(self, *, status: RunStatus | None = None, round: int | None = None,
                   reason: str | None = None) -> None:
        self._c.execute(
            "UPDATE teammesh_runs SET status = COALESCE(%s, status),"
            " round = COALESCE(%s, round), reason = COALESCE(%s, reason), updated_at = now()"
            " WHERE run_id = %s", (status, round, reason, self._run))

    def completed(self) -> list[str]:
        rows = self._all("SELECT member FROM teammesh_members WHERE run_id = %s AND"
                         " completed_seq IS NOT NULL ORDER BY completed_seq")
        return [r["member"] for r in rows]

    def set_completed(self, member: str) -> None:
        self._c.execute(
            "UPDATE teammesh_members SET completed_seq = (SELECT COALESCE(MAX(completed_seq),"
            " 0) + 1 FROM teammesh_members WHERE run_id = %s) WHERE run_id = %s AND"
            " member = %s AND completed_seq IS NULL", (self._run, self._run, member))

    def sessions(self) -> dict[str, str]:
        rows = self._all("SELECT member, session_id FROM teammesh_members WHERE run_id = %s"
                         " AND session_id IS NOT NULL")
        return {r["member"]: r["session_id"] for r in rows}

    def set_session(self, member: str, session_id: str) -> None:
        self._c.execute("UPDATE teammesh_members SET session_id = %s WHERE run_id = %s AND"
                        " member = %s", (session_id, self._run, member))

    def tasks(self, *, owner: str | None = None, status: TaskStatus | None = None,
              claim_token: str | None = None, limit: int | None = None
              ) -> list[TaskRecord]:
        sql = "SELECT * FROM teammesh_tasks WHERE run_id = %s"
        args: list[Any] = []
        for column, value in (("owner", owner), ("status", status),
                              ("claim_token", claim_token)):
            if value is not None:
                sql += f" AND {column} = %s"
                args.append(value)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        return [_task(r) for r in self._all(sql, *args)]

    def count_tasks(self, *, owner: str | None = None,
                    status: TaskStatus | None = None) -> int:
        sql = "SELECT COUNT(*) AS n FROM teammesh_tasks WHERE run_id = %s"
        args: list[Any] = []
        for column, value in (("owner", owner), ("status", status)):
            if value is not None:
                sql += f" AND {column} = %s"
                args.append(value)
        return int(self._all(sql, *args)[0]["n"])

    def add_task(self, *, owner: str, text: str, queued_by: str, chain: tuple[str, ...],
                 parent_id: int | None) -> TaskRecord:
        row = self._c.execute(
            "INSERT INTO teammesh_tasks (run_id, owner, text, queued_by, status, chain,"
            " parent_id) VALUES (%s, %s, %s, %s, 'queued', %s, %s) RETURNING id",
            (self._run, owner, text, queued_by, json.dumps(list(chain)), parent_id),
        ).fetchone()
        assert row is not None
        return TaskRecord(int(row["id"]), owner, text, queued_by, "queued", 0, None, chain,
                          parent_id)

    def set_task(self, task_id: int, *, status: TaskStatus, claim_token: str | None,
                 attempts: int) -> None:
        self._c.execute(
            "UPDATE teammesh_tasks SET status = %s, claim_token = %s, attempts = %s"
            " WHERE id = %s AND run_id = %s",
            (status, claim_token, attempts, task_id, self._run))

    def add_artifact(self, *, member: str, kind: str, summary: str) -> Artifact:
        row = self._c.execute(
            "INSERT INTO teammesh_artifacts (run_id, member, kind, summary)"
            " VALUES (%s, %s, %s, %s) RETURNING id", (self._run, member, kind, summary),
        ).fetchone()
        assert row is not None
        return Artifact(int(row["id"]), member, kind, summary)

    def artifacts(self, *, last: int | None = None) -> list[Artifact]:
        if last is None:
            rows = self._all("SELECT * FROM teammesh_artifacts WHERE run_id = %s ORDER BY id")
        else:
            rows = self._all("SELECT * FROM (SELECT * FROM teammesh_artifacts WHERE"
                             " run_id = %s ORDER BY id DESC LIMIT %s) AS recent ORDER BY id",
                             last)
        return [Artifact(int(r["id"]), r["member"], r["kind"], r["summary"]) for r in rows]

    def artifact_count(self) -> int:
        row = self._c.execute("SELECT COUNT(*) AS n FROM teammesh_artifacts WHERE"
                              " run_id = %s", (self._run,)).fetchone()
        return int(row["n"]) if row is not None else 0

    def add_turn(self, slot: TurnSlot) -> None:
        self._c.execute(
            "INSERT INTO teammesh_turns (run_id, token, member, round, turn_id, state, seq)"
            " VALUES (%s, %s, %s, %s, %s, %s, (SELECT COALESCE(MAX(seq), 0) + 1 FROM"
            " teammesh_turns WHERE run_id = %s))",
            (self._run, slot.token, slot.member, slot.round, slot.turn_id, slot.state,
             self._run))

    def update_turn(self, token: str, *, turn_id: str | None = None,
                    state: TurnState | None = None) -> None:
        self._c.execute(
            "UPDATE teammesh_turns SET turn_id = COALESCE(%s, turn_id),"
            " state = COALESCE(%s, state) WHERE run_id = %s AND token = %s",
            (turn_id, state, self._run, token))

    def turns(self, *, state: TurnState | None = None, member: str | None = None,
              token: str | None = None) -> list[TurnSlot]:
        sql = "SELECT * FROM teammesh_turns WHERE run_id = %s"
        args: list[Any] = []
        if token is not None:
            sql += " AND token = %s"
            args.append(token)
        if state is not None:
            sql += " AND state = %s"
            args.append(state)
        if member is not None:
            sql += " AND member = %s"
            args.append(member)
        return [TurnSlot(r["token"], r["member"], r["round"], r["turn_id"], r["state"])
                for r in self._all(sql + " ORDER BY seq", *args)]

    def add_approval(self, *, key: str | None, member: str, tool: str,
                     question: str) -> ApprovalRecord:
        row = self._c.execute(
            "INSERT INTO teammesh_approvals (run_id, request_key, member, tool, question,"
            " state) VALUES (%s, %s, %s, %s, %s, 'pending') RETURNING id",
            (self._run, key, member, tool, question)).fetchone()
        assert row is not None
        return ApprovalRecord(int(row["id"]), key, member, tool, question, "pending", "")

    def set_approval(self, approval_id: int, *, state: ApprovalState,
                     answered_by: str) -> None:
        self._c.execute("UPDATE teammesh_approvals SET state = %s, answered_by = %s"
                        " WHERE id = %s AND run_id = %s",
                        (state, answered_by, approval_id, self._run))

    def approvals(self) -> list[ApprovalRecord]:
        rows = self._all("SELECT * FROM teammesh_approvals WHERE run_id = %s ORDER BY id")
        return [ApprovalRecord(int(r["id"]), r["request_key"], r["member"], r["tool"],
                               r["question"], r["state"], r["answered_by"]) for r in rows]

    def get_record(self, key: str) -> ToolCallRecord | None:
        row = self._c.execute(
            "SELECT * FROM teammesh_tool_calls WHERE run_id = %s AND request_key = %s",
            (self._run, key)).fetchone()
        if row is None:
            return None
        return ToolCallRecord(row["request_key"], row["member"], row["tool"],
                              json.loads(row["result"]))

    def put_record(self, record: ToolCallRecord) -> None:
        self._c.execute(
            "INSERT INTO teammesh_tool_calls (run_id, request_key, member, tool, result)"
            " VALUES (%s, %s, %s, %s, %s)",
            (self._run, record.key, record.member, record.tool,
             json.dumps(record.result, sort_keys=True)))

    def records(self) -> list[ToolCallRecord]:
        rows = self._all("SELECT * FROM teammesh_tool_calls WHERE run_id = %s ORDER BY seq")
        return [ToolCallRecord(r["request_key"], r["member"], r["tool"],
                               json.loads(r["result"])) for r in rows]

    def effect_uses(self, key: str) -> list[EffectRecord]:
        rows = self._all("SELECT * FROM teammesh_effects WHERE run_id = %s AND effect_key = %s"
                         " ORDER BY seq", key)
        return [_effect(r) for r in rows]

    def put_effect(self, record: EffectRecord) -> None:
        self._c.execute(
            "INSERT INTO teammesh_effects (run_id, effect_key, token, member, tool, result)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (self._run, record.key, record.token, record.member, record.tool,
             json.dumps(record.result, sort_keys=True)))

    def effects(self) -> list[EffectRecord]:
        return [_effect(r) for r in
                self._all("SELECT * FROM teammesh_effects WHERE run_id = %s ORDER BY seq")]


def _effect(row: Row) -> EffectRecord:
    return EffectRecord(row["effect_key"], row["token"], row["member"], row["tool"],
                        json.loads(row["result"]))


def _task(row: Row) -> TaskRecord:
    return TaskRecord(
        id=int(row["id"]), owner=row["owner"], text=row["text"], queued_by=row["queued_by"],
        status=row["status"], attempts=row["attempts"], claim_token=row["claim_token"],
        chain=tuple(json.loads(row["chain"])),
        parent_id=int(row["parent_id"]) if row["parent_id"] is not None else None,
    )


def _run_info(row: Row) -> RunInfo:
    return RunInfo(row["run_id"], row["team"], tuple(json.loads(row["roster"])),
                   row["status"], row["round"], row["reason"], row["max_attempts"],
                   row["team_text"])


class PostgresStore:
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
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = ""
               ) -> PostgresStore:
        store = cls(dsn, run_id)
        with store.transaction(write=True) as tx:
            tx._c.execute(
                "INSERT INTO teammesh_runs (run_id, team, roster, status, round, reason,"
                " max_attempts, team_text) VALUES (%s, %s, %s, 'running', 0, '', %s, %s)",
                (run_id, team, json.dumps(list(roster)), max_attempts, team_text))
            for member in roster:
                tx._c.execute("INSERT INTO teammesh_members (run_id, member) VALUES (%s, %s)",
                              (run_id, member))
        return store

    @classmethod
    def open(cls, dsn: str, *, run_id: str) -> PostgresStore:
        store = cls(dsn, run_id)
        try:
            with store.transaction(write=False) as tx:
                tx.run()
        except UnknownRun:
            store.close()
            raise UnknownRun(f"run {run_id} is not on the board {redact(dsn)}") from None
        return store

    @property
    def run_id(self) -> str:
        return self._run_id

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[_PostgresTx]:
        with self._lock, self._conn.transaction():
            if write:
                # One writer per run at a time, across every connection to the database.
                self._conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                                   (f"teammesh:{self._run_id}",))
            yield _PostgresTx(self._conn, self._run_id)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def list_pg_runs(dsn: str) -> list[RunInfo]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        try:
            rows = conn.execute("SELECT * FROM teammesh_runs ORDER BY created_at").fetchall()
        except psycopg.errors.UndefinedTable:
            return []
    return [_run_info(r) for r in rows]


def redact(dsn: str) -> str:
    """A DSN fit for messages: no password."""
    head, sep, tail = dsn.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return dsn
    scheme, _, credentials = head.partition("//")
    user = credentials.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"


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

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
