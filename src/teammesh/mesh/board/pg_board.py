"""`TeamBoard` on a PostgreSQL store, what every turn does one statement each: the server
functions of `pg_functions.py` (migration 9) instead of the generic statements.

Everything a caller sees stays `TeamBoard`'s: the member and text checks run here first,
the same way, and the function returns the same result (the call's record and log entry
written in the same transaction). Only the number of statements changes: one instead of
ten (`team_pull_work`), eleven (`team_publish_artifact`), seven (opening a turn), four (its
turn id) or eight (settling it ok), and one for all of a run's initial tasks instead of six
each. A turn that failed or was lost settles the generic way.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from teammesh.mesh.board.call_notes import CallNote, stored_json
from teammesh.mesh.board.core import TeamBoard, clean_text
from teammesh.mesh.board.postgres import PostgresStore
from teammesh.mesh.board.protocol import SYSTEM_MEMBER, BoardRefusal, TaskRecord, TurnSlot


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


def _result(value: Any) -> dict[str, Any]:
    """A tool call's result as a function returned it (jsonb: a dict)."""
    assert isinstance(value, dict)
    return value


class PgTeamBoard(TeamBoard):
    """The board of one run in PostgreSQL."""

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)
        self._pg = store

    def pull_work(self, member: str, *, token: str | None, key: str | None = None,
                  call: CallNote | None = None) -> dict[str, Any]:
        self._check_member(member)
        return _result(self._pg.call_function(
            "teammesh_pull_work(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (self.run_id, member, token, key, *_call_args(call))))

    def publish_artifact(self, member: str, kind: object, summary: object, *,
                         key: str | None = None, token: str | None = None,
                         call: CallNote | None = None) -> dict[str, Any]:
        self._check_member(member)
        clean_kind = clean_text("kind", kind)
        clean_summary = clean_text("summary", summary)
        digest = arguments_digest({"kind": clean_kind, "summary": clean_summary})
        return _result(self._pg.call_function(
            "teammesh_publish_artifact(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (self.run_id, member, token, key, clean_kind, clean_summary, digest,
             *_call_args(call))))

    def open_turn(self, member: str, round_number: int, *, requeue_strays: bool = False,
                  session_id: str | None = None) -> TurnSlot:
        self._check_member(member)
        slot = TurnSlot(token=f"{member}.r{round_number}.{secrets.token_hex(4)}",
                        member=member, round=round_number, turn_id=None, state="open")
        self._pg.call_function("teammesh_open_turn(%s, %s, %s, %s, %s, %s, %s)",
                               (self.run_id, member, slot.token, round_number,
                                requeue_strays, time.time(), session_id))
        return slot

    def set_turn_id(self, token: str, turn_id: str) -> None:
        self._pg.call_function("teammesh_set_turn_id(%s, %s, %s)",
                               (self.run_id, token, turn_id))

    def settle_turn(self, token: str, *, ok: bool, lost: bool = False,
                    charge_queue_head: bool = False, reason: str | None = None
                    ) -> list[TaskRecord]:
        if ok and self._pg.call_function(
                "teammesh_settle_ok(%s, %s, %s, %s)",
                (self.run_id, token.rsplit(".", 2)[0], token, time.time())):
            return []  # an ok settle returns nothing back to the queue
        return super().settle_turn(token, ok=ok, lost=lost,
                                   charge_queue_head=charge_queue_head, reason=reason)

    def queue_initial(self, tasks: list[tuple[str, str]]) -> bool:
        """The run's initial tasks in one statement (`initial_tasks.py`); False, having
        done nothing, when one of them would be refused: the generic way then refuses it
        exactly as it always did."""
        if SYSTEM_MEMBER in self.roster:  # a member named so could claim: generic way
            return False
        try:
            for owner, _ in tasks:
                self._check_member(owner)
            texts = [clean_text("task", text) for _, text in tasks]
        except BoardRefusal:
            return False
        self._pg.call_function("teammesh_queue_initial(%s, %s, %s)",
                               (self.run_id, [owner for owner, _ in tasks], texts))
        return True
