"""`TeamBoard` on a PostgreSQL store, its two tool-call operations each one statement: the
server functions of `pg_functions.py` (migration 9) instead of the generic statements.

Everything a caller sees stays `TeamBoard`'s: the member and text checks run here first,
the same way, and the function returns the same result (the call's record and log entry
written in the same transaction). Only the number of statements changes: one instead of
ten (`team_pull_work`) or eleven (`team_publish_artifact`).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from teammesh.mesh.board.call_notes import CallNote, stored_json
from teammesh.mesh.board.core import TeamBoard, clean_text
from teammesh.mesh.board.postgres import PostgresStore


def arguments_digest(arguments: dict[str, Any]) -> str:
    """The argument part of `core.effect_key` (the rest is the server's to fill in)."""
    canonical = json.dumps(arguments, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:32]


def _call_args(call: CallNote | None) -> tuple[Any, ...]:
    """A call's log entry as the functions take it (all None: no entry)."""
    if call is None:
        return (None, None, None, None, None)
    return (call.request_key, call.turn_token, stored_json(call.arguments), call.started_at,
            time.time())


class PgTeamBoard(TeamBoard):
    """The board of one run in PostgreSQL."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)
        self._pg = store

    def pull_work(self, member: str, *, token: str | None, key: str | None = None,
                  call: CallNote | None = None) -> dict[str, Any]:
        self._check_member(member)
        return self._pg.call_function(
            "teammesh_pull_work(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (self.run_id, member, token, key, *_call_args(call)))

    def publish_artifact(self, member: str, kind: object, summary: object, *,
                         key: str | None = None, token: str | None = None,
                         call: CallNote | None = None) -> dict[str, Any]:
        self._check_member(member)
        clean_kind = clean_text("kind", kind)
        clean_summary = clean_text("summary", summary)
        digest = arguments_digest({"kind": clean_kind, "summary": clean_summary})
        return self._pg.call_function(
            "teammesh_publish_artifact(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (self.run_id, member, token, key, clean_kind, clean_summary, digest,
             *_call_args(call)))
