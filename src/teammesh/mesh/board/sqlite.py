"""The SQLite store: the durable default, one WAL file per run.

Every write transaction starts with `BEGIN IMMEDIATE`, which takes SQLite's write lock before
the first read, so a claim's select-then-update cannot interleave with another writer's, in
this process or another one on the same file. Rows carry `run_id` so the same schema serves a
database shared by many runs (the shape a PostgreSQL store would keep).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, team TEXT NOT NULL, roster TEXT NOT NULL,
    status TEXT NOT NULL, round INTEGER NOT NULL, reason TEXT NOT NULL,
    max_attempts INTEGER NOT NULL, team_text TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP);
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
    PRIMARY KEY (run_id, token));
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
"""


class UnknownRun(LookupError):
    pass


def _task(row: sqlite3.Row) -> TaskRecord:
    return TaskRecord(
        id=row["id"], owner=row["owner"], text=row["text"], queued_by=row["queued_by"],
        status=row["status"], attempts=row["attempts"], claim_token=row["claim_token"],
        chain=tuple(json.loads(row["chain"])), parent_id=row["parent_id"],
    )


def _run_info(row: sqlite3.Row) -> RunInfo:
    return RunInfo(row["run_id"], row["team"], tuple(json.loads(row["roster"])),
                   row["status"], row["round"], row["reason"], row["max_attempts"],
                   row["team_text"])


def _turn(row: sqlite3.Row) -> TurnSlot:
    return TurnSlot(token=row["token"], member=row["member"], round=row["round"],
                    turn_id=row["turn_id"], state=row["state"])


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection, run_id: str) -> None:
        self._c = conn
        self._run = run_id

    def _all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return self._c.execute(sql, (self._run, *args)).fetchall()

    def run(self) -> RunInfo:
        row = self._c.execute("SELECT * FROM runs WHERE run_id = ?", (self._run,)).fetchone()
        if row is None:
            raise UnknownRun(self._run)
        return _run_info(row)

    def update_run(self, *, status: RunStatus | None = None, round: int | None = None,
                   reason: str | None = None) -> None:
        self._c.execute(
            "UPDATE runs SET status = COALESCE(?, status), round = COALESCE(?, round),"
            " reason = COALESCE(?, reason), updated_at = CURRENT_TIMESTAMP WHERE run_id = ?",
            (status, round, reason, self._run),
        )

    def completed(self) -> list[str]:
        rows = self._all("SELECT member FROM members WHERE run_id = ? AND completed_seq"
                         " IS NOT NULL ORDER BY completed_seq")
        return [r["member"] for r in rows]

    def set_completed(self, member: str) -> None:
        self._c.execute(
            "UPDATE members SET completed_seq = (SELECT COALESCE(MAX(completed_seq), 0) + 1"
            " FROM members WHERE run_id = ?) WHERE run_id = ? AND member = ?"
            " AND completed_seq IS NULL",
            (self._run, self._run, member),
        )

    def sessions(self) -> dict[str, str]:
        rows = self._all("SELECT member, session_id FROM members WHERE run_id = ?"
                         " AND session_id IS NOT NULL")
        return {r["member"]: r["session_id"] for r in rows}

    def set_session(self, member: str, session_id: str) -> None:
        self._c.execute("UPDATE members SET session_id = ? WHERE run_id = ? AND member = ?",
                        (session_id, self._run, member))

    def tasks(self, *, owner: str | None = None, status: TaskStatus | None = None,
              claim_token: str | None = None, limit: int | None = None
              ) -> list[TaskRecord]:
        sql = "SELECT * FROM tasks WHERE run_id = ?"
        args: list[Any] = []
        for column, value in (("owner", owner), ("status", status),
                              ("claim_token", claim_token)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_task(r) for r in self._all(sql, *args)]

    def count_tasks(self, *, owner: str | None = None,
                    status: TaskStatus | None = None) -> int:
        sql = "SELECT COUNT(*) FROM tasks WHERE run_id = ?"
        args: list[Any] = []
        for column, value in (("owner", owner), ("status", status)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return int(self._all(sql, *args)[0][0])

    def add_task(self, *, owner: str, text: str, queued_by: str, chain: tuple[str, ...],
                 parent_id: int | None) -> TaskRecord:
        cur = self._c.execute(
            "INSERT INTO tasks (run_id, owner, text, queued_by, status, chain, parent_id)"
            " VALUES (?, ?, ?, ?, 'queued', ?, ?)",
            (self._run, owner, text, queued_by, json.dumps(list(chain)), parent_id),
        )
        return TaskRecord(cast(int, cur.lastrowid), owner, text, queued_by, "queued", 0, None,
                          chain, parent_id)

    def set_task(self, task_id: int, *, status: TaskStatus, claim_token: str | None,
                 attempts: int) -> None:
        self._c.execute(
            "UPDATE tasks SET status = ?, claim_token = ?, attempts = ? WHERE id = ?"
            " AND run_id = ?", (status, claim_token, attempts, task_id, self._run))

    def add_artifact(self, *, member: str, kind: str, summary: str) -> Artifact:
        cur = self._c.execute(
            "INSERT INTO artifacts (run_id, member, kind, summary) VALUES (?, ?, ?, ?)",
            (self._run, member, kind, summary))
        return Artifact(cast(int, cur.lastrowid), member, kind, summary)

    def artifacts(self, *, last: int | None = None) -> list[Artifact]:
        if last is None:
            rows = self._all("SELECT * FROM artifacts WHERE run_id = ? ORDER BY id")
        else:
            rows = self._all("SELECT * FROM (SELECT * FROM artifacts WHERE run_id = ?"
                             " ORDER BY id DESC LIMIT ?) ORDER BY id", last)
        return [Artifact(r["id"], r["member"], r["kind"], r["summary"]) for r in rows]

    def artifact_count(self) -> int:
        row = self._c.execute("SELECT COUNT(*) FROM artifacts WHERE run_id = ?",
                              (self._run,)).fetchone()
        return int(row[0])

    def add_turn(self, slot: TurnSlot) -> None:
        self._c.execute(
            "INSERT INTO turns (run_id, token, member, round, turn_id, state, seq) VALUES"
            " (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM turns"
            " WHERE run_id = ?))",
            (self._run, slot.token, slot.member, slot.round, slot.turn_id, slot.state,
             self._run))

    def update_turn(self, token: str, *, turn_id: str | None = None,
                    state: TurnState | None = None) -> None:
        self._c.execute(
            "UPDATE turns SET turn_id = COALESCE(?, turn_id), state = COALESCE(?, state)"
            " WHERE run_id = ? AND token = ?", (turn_id, state, self._run, token))

    def turns(self, *, state: TurnState | None = None, member: str | None = None,
              token: str | None = None) -> list[TurnSlot]:
        sql = "SELECT * FROM turns WHERE run_id = ?"
        args: list[Any] = []
        if token is not None:
            sql += " AND token = ?"
            args.append(token)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        if member is not None:
            sql += " AND member = ?"
            args.append(member)
        return [_turn(r) for r in self._all(sql + " ORDER BY seq", *args)]

    def add_approval(self, *, key: str | None, member: str, tool: str,
                     question: str) -> ApprovalRecord:
        cur = self._c.execute(
            "INSERT INTO approvals (run_id, request_key, member, tool, question, state)"
            " VALUES (?, ?, ?, ?, ?, 'pending')", (self._run, key, member, tool, question))
        return ApprovalRecord(cast(int, cur.lastrowid), key, member, tool, question,
                              "pending", "")

    def set_approval(self, approval_id: int, *, state: ApprovalState,
                     answered_by: str) -> None:
        self._c.execute("UPDATE approvals SET state = ?, answered_by = ? WHERE id = ?"
                        " AND run_id = ?", (state, answered_by, approval_id, self._run))

    def approvals(self) -> list[ApprovalRecord]:
        rows = self._all("SELECT * FROM approvals WHERE run_id = ? ORDER BY id")
        return [ApprovalRecord(r["id"], r["request_key"], r["member"], r["tool"],
                               r["question"], r["state"], r["answered_by"]) for r in rows]

    def get_record(self, key: str) -> ToolCallRecord | None:
        row = self._c.execute(
            "SELECT * FROM tool_calls WHERE run_id = ? AND request_key = ?",
            (self._run, key)).fetchone()
        if row is None:
            return None
        return ToolCallRecord(row["request_key"], row["member"], row["tool"],
                              json.loads(row["result"]))

    def put_record(self, record: ToolCallRecord) -> None:
        self._c.execute(
            "INSERT INTO tool_calls (run_id, request_key, member, tool, result)"
            " VALUES (?, ?, ?, ?, ?)",
            (self._run, record.key, record.member, record.tool,
             json.dumps(record.result, sort_keys=True)))

    def records(self) -> list[ToolCallRecord]:
        rows = self._all("SELECT * FROM tool_calls WHERE run_id = ? ORDER BY rowid")
        return [ToolCallRecord(r["request_key"], r["member"], r["tool"],
                               json.loads(r["result"])) for r in rows]

    def effect_uses(self, key: str) -> list[EffectRecord]:
        rows = self._c.execute(
            "SELECT * FROM effects WHERE run_id = ? AND effect_key = ? ORDER BY rowid",
            (self._run, key)).fetchall()
        return [_effect(r) for r in rows]

    def put_effect(self, record: EffectRecord) -> None:
        self._c.execute(
            "INSERT INTO effects (run_id, effect_key, token, member, tool, result)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self._run, record.key, record.token, record.member, record.tool,
             json.dumps(record.result, sort_keys=True)))

    def effects(self) -> list[EffectRecord]:
        return [_effect(r) for r in
                self._all("SELECT * FROM effects WHERE run_id = ? ORDER BY rowid")]


def _effect(row: sqlite3.Row) -> EffectRecord:
    return EffectRecord(row["effect_key"], row["token"], row["member"], row["tool"],
                        json.loads(row["result"]))


class SqliteStore:
    """One run's board in a SQLite file (created on first use, WAL mode)."""

    def __init__(self, path: str | Path, run_id: str) -> None:
        self.path = Path(path)
        self._run_id = run_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly below. One connection per
        # store, guarded by a lock, so threads of one process share it safely.
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.RLock()

    @classmethod
    def create(cls, path: str | Path, *, run_id: str, team: str, roster: tuple[str, ...],
               max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "") -> SqliteStore:
        store = cls(path, run_id)
        with store.transaction(write=True) as tx:
            tx._c.execute(
                "INSERT INTO runs (run_id, team, roster, status, round, reason, max_attempts,"
                " team_text) VALUES (?, ?, ?, 'running', 0, '', ?, ?)",
                (run_id, team, json.dumps(list(roster)), max_attempts, team_text))
            tx._c.executemany(
                "INSERT INTO members (run_id, member) VALUES (?, ?)",
                [(run_id, m) for m in roster])
        return store

    @classmethod
    def open(cls, path: str | Path, *, run_id: str) -> SqliteStore:
        """An existing run; raises `UnknownRun` when the file does not hold it."""
        if not Path(path).exists():
            raise UnknownRun(f"no board file at {path}")
        store = cls(path, run_id)
        try:
            with store.transaction(write=False) as tx:
                tx.run()
        except UnknownRun:
            store.close()
            raise UnknownRun(f"run {run_id} is not on the board {path}") from None
        return store

    @property
    def run_id(self) -> str:
        return self._run_id

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[_SqliteTx]:
        with self._lock:
            # Reads also run in a transaction: a consistent view across their statements.
            self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _SqliteTx(self._conn, self._run_id)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def list_runs(path: str | Path) -> list[RunInfo]:
    """Every run held in a board file (for `teammesh board show` without an id)."""
    conn = sqlite3.connect(Path(path))
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM runs ORDER BY created_at").fetchall()
    finally:
        conn.close()
    return [_run_info(r) for r in rows]
