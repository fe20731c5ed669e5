"""What the SQL stores share: one `BoardTx` over the same tables, written once.

SQLite and PostgreSQL keep the same columns and the same statements; a dialect differs only
in its parameter placeholder, its table-name prefix and the column giving insertion order.
Statements here use `?` for parameters and `{p}` before each table name; `_q` turns them
into the dialect's form. Transactions and locking stay with each store.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol

from teammesh.mesh.board.protocol import (
    ApprovalRecord,
    ApprovalState,
    Artifact,
    EffectRecord,
    Members,
    RunInfo,
    RunStatus,
    TaskRecord,
    TaskStatus,
    ToolCallRecord,
    TurnSlot,
    TurnState,
)
from teammesh.mesh.board.sql_record import SqlRecordTx


class UnknownRun(LookupError):
    pass


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


# Every table that holds a run's rows (deleting a run deletes from each).
RUN_TABLES = ("leases", "transcripts", "call_log", "effects", "tool_calls", "approvals",
              "turns", "artifacts", "tasks", "members", "runs")


def _stamp(value: Any) -> str:
    """A timestamp column as "YYYY-MM-DD HH:MM:SS" UTC (SQLite gives text, PostgreSQL a
    datetime)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return str(value.strftime("%Y-%m-%d %H:%M:%S"))
    return str(value or "")


def _meta(raw: Any) -> dict[str, Any]:
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def run_info(row: Mapping[str, Any]) -> RunInfo:
    keys = set(row.keys())
    return RunInfo(row["run_id"], row["team"], tuple(json.loads(row["roster"])),
                   row["status"], row["round"], row["reason"], row["max_attempts"],
                   row["team_text"], _meta(row["meta"] if "meta" in keys else None),
                   _stamp(row["created_at"]), _stamp(row["updated_at"]))


def _task(row: Mapping[str, Any]) -> TaskRecord:
    return TaskRecord(
        id=int(row["id"]), owner=row["owner"], text=row["text"], queued_by=row["queued_by"],
        status=row["status"], attempts=row["attempts"], claim_token=row["claim_token"],
        chain=tuple(json.loads(row["chain"])),
        parent_id=int(row["parent_id"]) if row["parent_id"] is not None else None,
    )


def _turn(row: Mapping[str, Any]) -> TurnSlot:
    # Read like `meta`: a row from a board older than the column reads as no reason.
    reason = row["reason"] if "reason" in set(row.keys()) else ""
    return TurnSlot(token=row["token"], member=row["member"], round=row["round"],
                    turn_id=row["turn_id"], state=row["state"], reason=reason or "")


def _effect(row: Mapping[str, Any]) -> EffectRecord:
    return EffectRecord(row["effect_key"], row["token"], row["member"], row["tool"],
                        json.loads(row["result"]))


def _record(row: Mapping[str, Any]) -> ToolCallRecord:
    return ToolCallRecord(row["request_key"], row["member"], row["tool"],
                          json.loads(row["result"]))


class SqlTx(SqlRecordTx):
    """One transaction on one run's rows; a subclass names its dialect. The run record's
    statements are `SqlRecordTx`'s."""

    PARAM: ClassVar[str] = "?"
    PREFIX: ClassVar[str] = ""
    # The column that orders tool calls and effects as they were written.
    ORDER: ClassVar[str] = "rowid"

    def __init__(self, conn: Connection, run_id: str) -> None:
        self._c = conn
        self._run = run_id

    def _q(self, sql: str) -> str:
        return sql.replace("{p}", self.PREFIX).replace("{order}", self.ORDER).replace(
            "?", self.PARAM)

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> Cursor:
        cursor: Cursor = self._c.execute(self._q(sql), tuple(args))
        return cursor

    def _all(self, sql: str, *args: Any) -> list[Any]:
        return self._exec(sql, (self._run, *args)).fetchall()

    def _new_id(self, sql: str, args: Sequence[Any]) -> int:
        row = self._exec(sql + " RETURNING id", args).fetchone()
        assert row is not None
        return int(row["id"])

    def create_run(self, *, team: str, roster: tuple[str, ...], max_attempts: int,
                   team_text: str, meta: dict[str, Any] | None = None) -> None:
        self._exec(
            "INSERT INTO {p}runs (run_id, team, roster, status, round, reason, max_attempts,"
            " team_text, meta) VALUES (?, ?, ?, 'running', 0, '', ?, ?, ?)",
            (self._run, team, json.dumps(list(roster)), max_attempts, team_text,
             json.dumps(meta or {}, sort_keys=True)))
        for member in roster:
            self._exec("INSERT INTO {p}members (run_id, member) VALUES (?, ?)",
                       (self._run, member))

    def run(self) -> RunInfo:
        row = self._exec("SELECT * FROM {p}runs WHERE run_id = ?", (self._run,)).fetchone()
        if row is None:
            raise UnknownRun(self._run)
        return run_info(row)

    def update_run(self, *, status: RunStatus | None = None, round: int | None = None,
                   reason: str | None = None) -> None:
        self._exec(
            "UPDATE {p}runs SET status = COALESCE(?, status), round = COALESCE(?, round),"
            " reason = COALESCE(?, reason), updated_at = CURRENT_TIMESTAMP WHERE run_id = ?",
            (status, round, reason, self._run),
        )

    def set_meta(self, meta: dict[str, Any]) -> None:
        self._exec("UPDATE {p}runs SET meta = ? WHERE run_id = ?",
                   (json.dumps(meta, sort_keys=True), self._run))

    def delete_run(self) -> None:
        """Every row of the run, in every table."""
        for table in RUN_TABLES:
            self._exec(f"DELETE FROM {{p}}{table} WHERE run_id = ?", (self._run,))

    def completed(self) -> list[str]:
        rows = self._all("SELECT member FROM {p}members WHERE run_id = ? AND completed_seq"
                         " IS NOT NULL ORDER BY completed_seq")
        return [r["member"] for r in rows]

    def set_completed(self, member: str) -> None:
        self._exec(
            "UPDATE {p}members SET completed_seq = (SELECT COALESCE(MAX(completed_seq), 0) + 1"
            " FROM {p}members WHERE run_id = ?) WHERE run_id = ? AND member = ?"
            " AND completed_seq IS NULL",
            (self._run, self._run, member),
        )

    def sessions(self) -> dict[str, str]:
        rows = self._all("SELECT member, session_id FROM {p}members WHERE run_id = ?"
                         " AND session_id IS NOT NULL")
        return {r["member"]: r["session_id"] for r in rows}

    def set_session(self, member: str, session_id: str) -> None:
        self._exec("UPDATE {p}members SET session_id = ? WHERE run_id = ? AND member = ?",
                   (session_id, self._run, member))

    def tasks(self, *, owner: str | None = None, status: TaskStatus | None = None,
              claim_token: str | None = None, limit: int | None = None
              ) -> list[TaskRecord]:
        sql = "SELECT * FROM {p}tasks WHERE run_id = ?"
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
        sql = "SELECT COUNT(*) AS n FROM {p}tasks WHERE run_id = ?"
        args: list[Any] = []
        for column, value in (("owner", owner), ("status", status)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return int(self._all(sql, *args)[0]["n"])

    def queue_depths(self) -> dict[str, int]:
        rows = self._all("SELECT owner, COUNT(*) AS n FROM {p}tasks WHERE run_id = ?"
                         " AND status = 'queued' GROUP BY owner")
        return {r["owner"]: int(r["n"]) for r in rows}

    def add_task(self, *, owner: str, text: str, queued_by: str, chain: tuple[str, ...],
                 parent_id: int | None) -> TaskRecord:
        task_id = self._new_id(
            "INSERT INTO {p}tasks (run_id, owner, text, queued_by, status, chain, parent_id)"
            " VALUES (?, ?, ?, ?, 'queued', ?, ?)",
            (self._run, owner, text, queued_by, json.dumps(list(chain)), parent_id),
        )
        return TaskRecord(task_id, owner, text, queued_by, "queued", 0, None, chain, parent_id)

    def set_task(self, task_id: int, *, status: TaskStatus, claim_token: str | None,
                 attempts: int) -> None:
        self._exec(
            "UPDATE {p}tasks SET status = ?, claim_token = ?, attempts = ? WHERE id = ?"
            " AND run_id = ?", (status, claim_token, attempts, task_id, self._run))

    def add_artifact(self, *, member: str, kind: str, summary: str) -> Artifact:
        artifact_id = self._new_id(
            "INSERT INTO {p}artifacts (run_id, member, kind, summary) VALUES (?, ?, ?, ?)",
            (self._run, member, kind, summary))
        return Artifact(artifact_id, member, kind, summary)

    def artifacts(self, *, last: int | None = None) -> list[Artifact]:
        if last is None:
            rows = self._all("SELECT * FROM {p}artifacts WHERE run_id = ? ORDER BY id")
        else:
            rows = self._all("SELECT * FROM (SELECT * FROM {p}artifacts WHERE run_id = ?"
                             " ORDER BY id DESC LIMIT ?) AS recent ORDER BY id", last)
        return [Artifact(int(r["id"]), r["member"], r["kind"], r["summary"]) for r in rows]

    def artifact_count(self) -> int:
        return int(self._all("SELECT COUNT(*) AS n FROM {p}artifacts WHERE run_id = ?")[0]["n"])

    def add_turn(self, slot: TurnSlot) -> None:
        self._exec(
            "INSERT INTO {p}turns (run_id, token, member, round, turn_id, state, seq) VALUES"
            " (?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM {p}turns"
            " WHERE run_id = ?))",
            (self._run, slot.token, slot.member, slot.round, slot.turn_id, slot.state,
             self._run))

    def update_turn(self, token: str, *, turn_id: str | None = None,
                    state: TurnState | None = None, reason: str | None = None) -> None:
        self._exec(
            "UPDATE {p}turns SET turn_id = COALESCE(?, turn_id), state = COALESCE(?, state),"
            " reason = COALESCE(?, reason) WHERE run_id = ? AND token = ?",
            (turn_id, state, reason, self._run, token))

    def turns(self, *, state: TurnState | None = None, member: str | None = None,
              token: str | None = None) -> list[TurnSlot]:
        sql = "SELECT * FROM {p}turns WHERE run_id = ?"
        args: list[Any] = []
        for column, value in (("token", token), ("state", state), ("member", member)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        return [_turn(r) for r in self._all(sql + " ORDER BY seq", *args)]

    def add_approval(self, *, key: str | None, member: str, tool: str,
                     question: str) -> ApprovalRecord:
        approval_id = self._new_id(
            "INSERT INTO {p}approvals (run_id, request_key, member, tool, question, state)"
            " VALUES (?, ?, ?, ?, ?, 'pending')", (self._run, key, member, tool, question))
        return ApprovalRecord(approval_id, key, member, tool, question, "pending", "")

    def set_approval(self, approval_id: int, *, state: ApprovalState,
                     answered_by: str) -> None:
        self._exec("UPDATE {p}approvals SET state = ?, answered_by = ? WHERE id = ?"
                   " AND run_id = ?", (state, answered_by, approval_id, self._run))

    def approvals(self) -> list[ApprovalRecord]:
        rows = self._all("SELECT * FROM {p}approvals WHERE run_id = ? ORDER BY id")
        return [ApprovalRecord(int(r["id"]), r["request_key"], r["member"], r["tool"],
                               r["question"], r["state"], r["answered_by"]) for r in rows]

    def get_record(self, key: str) -> ToolCallRecord | None:
        rows = self._all("SELECT * FROM {p}tool_calls WHERE run_id = ? AND request_key = ?",
                         key)
        return _record(rows[0]) if rows else None

    def put_record(self, record: ToolCallRecord) -> None:
        self._exec(
            "INSERT INTO {p}tool_calls (run_id, request_key, member, tool, result)"
            " VALUES (?, ?, ?, ?, ?)",
            (self._run, record.key, record.member, record.tool,
             json.dumps(record.result, sort_keys=True)))

    def records(self) -> list[ToolCallRecord]:
        rows = self._all("SELECT * FROM {p}tool_calls WHERE run_id = ? ORDER BY {order}")
        return [_record(r) for r in rows]

    def effect_uses(self, key: str) -> list[EffectRecord]:
        rows = self._all("SELECT * FROM {p}effects WHERE run_id = ? AND effect_key = ?"
                         " ORDER BY {order}", key)
        return [_effect(r) for r in rows]

    def put_effect(self, record: EffectRecord) -> None:
        self._exec(
            "INSERT INTO {p}effects (run_id, effect_key, token, member, tool, result)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self._run, record.key, record.token, record.member, record.tool,
             json.dumps(record.result, sort_keys=True)))

    def effects(self) -> list[EffectRecord]:
        return [_effect(r) for r in
                self._all("SELECT * FROM {p}effects WHERE run_id = ? ORDER BY {order}")]


class _Closeable(Protocol):
    def close(self) -> None: ...


class SqlStore:
    """What the SQL stores share around their transactions: starting a run, checking an
    existing one, closing. A subclass opens `_conn`, sets `_run_id` and `_lock`, and
    provides `transaction` (its dialect's way of locking a run's writes)."""

    _conn: _Closeable
    _run_id: str
    _lock: threading.RLock

    def transaction(self, *, write: bool, members: Members = None
                    ) -> AbstractContextManager[SqlTx]:
        raise NotImplementedError

    def _start_run(self, *, team: str, roster: tuple[str, ...], max_attempts: int,
                   team_text: str, meta: dict[str, Any] | None = None) -> None:
        with self.transaction(write=True) as tx:
            tx.create_run(team=team, roster=roster, max_attempts=max_attempts,
                          team_text=team_text, meta=meta)

    def delete_run(self) -> None:
        """Remove the run and all its rows (a run that never started; `runs prune`)."""
        with self.transaction(write=True) as tx:
            tx.delete_run()

    def _require_run(self, board: str) -> None:
        """Raise `UnknownRun` (naming `board`, closed) when the board lacks this run."""
        try:
            with self.transaction(write=False) as tx:
                tx.run()
        except UnknownRun:
            self.close()
            raise UnknownRun(f"run {self._run_id} is not on the board {board}") from None

    @property
    def run_id(self) -> str:
        return self._run_id

    def close(self) -> None:
        with self._lock:
            self._conn.close()
