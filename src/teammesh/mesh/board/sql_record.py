"""The run record's statements for the SQL stores (`run_record.py`), mixed into `SqlTx`: the
turn columns it adds (times, session, usage, model) and the `call_log` table, one row per
tool call keyed by its request key.

Upserts (`ON CONFLICT`) are written once for both dialects: SQLite (3.24+) and PostgreSQL
spell them alike. Rows from a board older than these columns read as unknown (None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from teammesh.mesh.board.call_notes import stored_json
from teammesh.mesh.board.entries import CallEntry, TurnEntry, Usage

# Columns a board made before the record gains when opened (name, SQLite, PostgreSQL).
TURN_RECORD_COLUMNS = (
    ("started_at", "REAL", "DOUBLE PRECISION"),
    ("ended_at", "REAL", "DOUBLE PRECISION"),
    ("session_id", "TEXT", "TEXT"),
    ("input_tokens", "INTEGER", "BIGINT"),
    ("cached_input_tokens", "INTEGER", "BIGINT"),
    ("output_tokens", "INTEGER", "BIGINT"),
    ("reasoning_tokens", "INTEGER", "BIGINT"),
    ("model", "TEXT", "TEXT"),
)

_CALL_COLUMNS = ("run_id, request_key, member, turn_token, tool, arguments, result, success,"
                 " outcome, reason, started_at, ended_at")
_INSERT_CALL = (f"INSERT INTO {{p}}call_log ({_CALL_COLUMNS}) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, request_key)")
_REPLACE_CALL = _INSERT_CALL + " DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in ("member", "turn_token", "tool", "arguments", "result",
                                     "success", "outcome", "reason", "started_at",
                                     "ended_at"))


def _get(row: Mapping[str, Any], column: str) -> Any:
    return row[column] if column in row.keys() else None


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


def turn_entry(row: Mapping[str, Any]) -> TurnEntry:
    usage = None
    if _get(row, "input_tokens") is not None:
        usage = Usage(int(row["input_tokens"]), int(row["cached_input_tokens"] or 0),
                      int(row["output_tokens"] or 0), int(row["reasoning_tokens"] or 0))
    return TurnEntry(row["token"], row["member"], int(row["round"]), row["turn_id"],
                     _get(row, "session_id"), row["state"], _get(row, "reason") or "",
                     _float(_get(row, "started_at")), _float(_get(row, "ended_at")), usage,
                     _get(row, "model"))


def call_entry(row: Mapping[str, Any]) -> CallEntry:
    success = row["success"]
    return CallEntry(row["request_key"], row["member"], row["turn_token"], row["tool"],
                     json.loads(row["arguments"]), json.loads(row["result"]),
                     None if success is None else bool(success), row["outcome"],
                     row["reason"], _float(row["started_at"]), _float(row["ended_at"]))


class SqlRecordTx:
    """The record's part of `SqlTx` (which provides `_exec`, `_all` and the run id)."""

    _run: str

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _all(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    def stamp_turn(self, token: str, *, started_at: float | None = None,
                   ended_at: float | None = None, session_id: str | None = None) -> None:
        self._exec(
            "UPDATE {p}turns SET started_at = COALESCE(?, started_at),"
            " ended_at = COALESCE(?, ended_at), session_id = COALESCE(?, session_id)"
            " WHERE run_id = ? AND token = ?",
            (started_at, ended_at, session_id, self._run, token))

    def set_turn_usage(self, token: str, usage: Usage, model: str | None) -> None:
        self._exec(
            "UPDATE {p}turns SET input_tokens = ?, cached_input_tokens = ?,"
            " output_tokens = ?, reasoning_tokens = ?, model = COALESCE(?, model)"
            " WHERE run_id = ? AND token = ?",
            (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens,
             usage.reasoning_tokens, model, self._run, token))

    def turn_entries(self) -> list[TurnEntry]:
        return [turn_entry(r) for r in
                self._all("SELECT * FROM {p}turns WHERE run_id = ? ORDER BY seq")]

    def _call_args(self, entry: CallEntry) -> tuple[Any, ...]:
        return (self._run, entry.request_key, entry.member, entry.turn_token, entry.tool,
                stored_json(entry.arguments), stored_json(entry.result),
                None if entry.success is None else int(entry.success), entry.outcome,
                entry.reason, entry.started_at, entry.ended_at)

    def put_call(self, entry: CallEntry, *, replace: bool) -> None:
        self._exec(_REPLACE_CALL if replace else _INSERT_CALL + " DO NOTHING",
                   self._call_args(entry))

    def mark_call_replayed(self, entry: CallEntry) -> None:
        self._exec(_INSERT_CALL + " DO UPDATE SET outcome = 'replayed'",
                   self._call_args(entry))

    def calls(self) -> list[CallEntry]:
        return [call_entry(r) for r in
                self._all("SELECT * FROM {p}call_log WHERE run_id = ? ORDER BY {order}")]

    def put_transcript(self, member: str, session_id: str, data: Any) -> None:
        self._exec(
            "INSERT INTO {p}transcripts (run_id, member, session_id, data) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (run_id, member) DO UPDATE SET session_id = excluded.session_id,"
            " data = excluded.data",
            (self._run, member, session_id, json.dumps(data, sort_keys=True)))

    def transcript(self, member: str) -> tuple[str, Any] | None:
        rows = self._all("SELECT session_id, data FROM {p}transcripts WHERE run_id = ?"
                         " AND member = ?", member)
        return (rows[0]["session_id"], json.loads(rows[0]["data"])) if rows else None
