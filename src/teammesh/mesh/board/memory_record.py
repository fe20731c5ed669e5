"""The run record in the in-memory store (`run_record.py`), mixed into its transaction: per
turn its times, session and usage; per tool call one entry by request key. Entries are kept
as frozen records with their JSON payloads as text (as the SQL stores keep them), and every
write goes through the transaction's undo log, so a failed transaction takes them back too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from teammesh.mesh.board.call_notes import stored_json
from teammesh.mesh.board.entries import CallEntry, TurnEntry, Usage
from teammesh.mesh.board.protocol import TurnSlot


@dataclass(frozen=True)
class _TurnExtra:
    started_at: float | None = None
    ended_at: float | None = None
    session_id: str | None = None
    usage: Usage | None = None
    model: str | None = None


@dataclass
class RecordState:
    turns: dict[str, _TurnExtra] = field(default_factory=dict)
    # request key -> the entry with `arguments` and `result` as JSON text (insertion order)
    calls: dict[str, CallEntry] = field(default_factory=dict)
    transcripts: dict[str, tuple[str, str]] = field(default_factory=dict)  # session, JSON


def _stored(entry: CallEntry) -> CallEntry:
    return replace(entry, arguments=stored_json(entry.arguments),
                   result=stored_json(entry.result))


class MemoryRecordTx:
    """The record's part of the memory store's transaction, which provides `_record_state`,
    `_turn_slots` and `_put_key` (an undoable write of one mapping key)."""

    def _record_state(self) -> RecordState:
        raise NotImplementedError

    def _turn_slots(self) -> dict[str, TurnSlot]:
        raise NotImplementedError

    def _put_key(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        raise NotImplementedError

    def _change_turn(self, token: str, **changes: Any) -> None:
        if token not in self._turn_slots():
            return  # as an UPDATE that matches no row
        turns = self._record_state().turns
        self._put_key(turns, token, replace(turns.get(token, _TurnExtra()), **changes))

    def stamp_turn(self, token: str, *, started_at: float | None = None,
                   ended_at: float | None = None, session_id: str | None = None) -> None:
        given = {"started_at": started_at, "ended_at": ended_at, "session_id": session_id}
        self._change_turn(token, **{k: v for k, v in given.items() if v is not None})

    def set_turn_usage(self, token: str, usage: Usage, model: str | None) -> None:
        changes: dict[str, Any] = {"usage": usage}
        if model is not None:
            changes["model"] = model
        self._change_turn(token, **changes)

    def turn_entries(self) -> list[TurnEntry]:
        extras = self._record_state().turns
        entries = []
        for slot in self._turn_slots().values():
            extra = extras.get(slot.token, _TurnExtra())
            entries.append(TurnEntry(slot.token, slot.member, slot.round, slot.turn_id,
                                     extra.session_id, slot.state, slot.reason,
                                     extra.started_at, extra.ended_at, extra.usage,
                                     extra.model))
        return entries

    def put_call(self, entry: CallEntry, *, replace: bool) -> None:
        calls = self._record_state().calls
        if replace or entry.request_key not in calls:
            self._put_key(calls, entry.request_key, _stored(entry))

    def mark_call_replayed(self, entry: CallEntry) -> None:
        calls = self._record_state().calls
        old = calls.get(entry.request_key)
        self._put_key(calls, entry.request_key,
                      _stored(entry) if old is None else _replayed(old))

    def calls(self) -> list[CallEntry]:
        return [replace(e, arguments=json.loads(e.arguments), result=json.loads(e.result))
                for e in self._record_state().calls.values()]


    def put_transcript(self, member: str, session_id: str, data: Any) -> None:
        self._put_key(self._record_state().transcripts, member,
                      (session_id, json.dumps(data, sort_keys=True)))

    def transcript(self, member: str) -> tuple[str, Any] | None:
        found = self._record_state().transcripts.get(member)
        return (found[0], json.loads(found[1])) if found is not None else None


def _replayed(entry: CallEntry) -> CallEntry:
    return replace(entry, outcome="replayed")
