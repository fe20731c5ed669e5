"""The in-memory store: the board of a run that needs no crash recovery (tests, demos with
`--board memory`). One lock serialises transactions.

A transaction costs what it touches, whatever the board holds:
- Rollback by undo log (`memory_index.UndoLog`): every write records how to take itself
  back, and a failed transaction runs those entries backwards. (Copying the whole board when
  each transaction began made a run quadratic in its tasks.)
- Tasks are indexed by owner, status, owner and status, and claim token (ascending ids), so
  a queue head, a turn's claims or a queue depth is found without reading every task.
- Mutable payloads (tool-call and effect results, the run's metadata) are kept as JSON text,
  as the SQL stores keep them: what a caller gets back is a fresh value that cannot alias
  stored state, a value the caller changes after storing it changes nothing stored, and a
  value the SQL stores could not store is refused here too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from teammesh.mesh.board.memory_index import UndoLog, index_add, index_remove
from teammesh.mesh.board.memory_record import MemoryRecordTx, RecordState
from teammesh.mesh.board.protocol import (
    DEFAULT_MAX_ATTEMPTS,
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


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass
class _Effect:
    key: str
    token: str
    member: str
    tool: str
    result: str  # JSON

    def record(self) -> EffectRecord:
        return EffectRecord(self.key, self.token, self.member, self.tool,
                            json.loads(self.result))


@dataclass
class _State:
    run: RunInfo  # its `meta` is unused: the metadata is `meta_json`
    meta_json: str
    completed: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)
    # Tasks in id order (ids only grow, and a replaced task keeps its place).
    tasks: dict[int, TaskRecord] = field(default_factory=dict)
    by_owner: dict[str, list[int]] = field(default_factory=dict)
    by_status: dict[str, list[int]] = field(default_factory=dict)
    by_owner_status: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    by_token: dict[str, list[int]] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    # Turns in the order they were opened; `turn_seq` gives that order to the state index.
    turns: dict[str, TurnSlot] = field(default_factory=dict)
    turn_seq: dict[str, int] = field(default_factory=dict)
    turns_by_state: dict[str, dict[str, None]] = field(default_factory=dict)
    turns_by_member: dict[str, list[str]] = field(default_factory=dict)
    records: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # member, tool, JSON
    effects: list[_Effect] = field(default_factory=list)
    effects_by_key: dict[str, list[int]] = field(default_factory=dict)
    approvals: dict[int, ApprovalRecord] = field(default_factory=dict)
    next_task_id: int = 1
    record: RecordState = field(default_factory=RecordState)  # the run record's part


_MISSING = object()


class _MemoryTx(MemoryRecordTx):
    def __init__(self, state: _State, log: UndoLog) -> None:
        self._s = state
        self._log = log

    def _record_state(self) -> RecordState:
        return self._s.record

    def _turn_slots(self) -> dict[str, TurnSlot]:
        return self._s.turns

    # -- writes that know how to take themselves back --------------------------------------
    # Each write records its undo *before* it changes anything, and every undo restores the
    # old value whatever part of the write happened: a write cut short (a KeyboardInterrupt
    # between two of its steps) is still taken back whole.

    def _set_run(self, run: RunInfo, meta_json: str) -> None:
        old_run, old_meta = self._s.run, self._s.meta_json

        def undo() -> None:
            self._s.run, self._s.meta_json = old_run, old_meta

        self._log.record(undo)
        self._s.run, self._s.meta_json = run, meta_json

    def _put_task(self, task_id: int, task: TaskRecord | None) -> None:
        """Store `task` under `task_id` (None: remove it), keeping every index right."""
        s = self._s
        old = s.tasks.get(task_id)
        self._log.record(lambda: self._restore_task(task_id, old))
        if old is not None:
            self._unindex(old)
        if task is None:
            s.tasks.pop(task_id, None)
        else:
            s.tasks[task_id] = task
            self._index(task)

    def _restore_task(self, task_id: int, task: TaskRecord | None) -> None:
        s = self._s
        current = s.tasks.get(task_id)
        if current is not None:
            self._unindex(current)
        if task is None:
            s.tasks.pop(task_id, None)
        else:
            s.tasks[task_id] = task
            self._index(task)

    def _index(self, task: TaskRecord) -> None:
        self._each_index(task, index_add)

    def _unindex(self, task: TaskRecord) -> None:
        self._each_index(task, index_remove)

    def _each_index(self, task: TaskRecord,
                    change: Callable[[dict[Any, list[int]], Any, int], None]) -> None:
        """Apply `change` (add or remove) to every index a task is listed in, so the two
        directions cannot name different indexes."""
        s = self._s
        change(s.by_owner, task.owner, task.id)
        change(s.by_status, task.status, task.id)
        change(s.by_owner_status, (task.owner, task.status), task.id)
        if task.claim_token is not None:
            change(s.by_token, task.claim_token, task.id)

    def _put_turn(self, slot: TurnSlot) -> None:
        s = self._s
        old = s.turns.get(slot.token)
        self._log.record(lambda: self._restore_turn(slot, old))
        if old is None:
            s.turn_seq[slot.token] = len(s.turn_seq) + 1
            s.turns_by_member.setdefault(slot.member, []).append(slot.token)
        else:
            del s.turns_by_state[old.state][slot.token]
        s.turns[slot.token] = slot
        s.turns_by_state.setdefault(slot.state, {})[slot.token] = None

    def _restore_turn(self, slot: TurnSlot, old: TurnSlot | None) -> None:
        s, token = self._s, slot.token
        current = s.turns.get(token)
        if current is not None:
            s.turns_by_state.get(current.state, {}).pop(token, None)
        if old is None:
            s.turns.pop(token, None)
            s.turn_seq.pop(token, None)
            mine = s.turns_by_member.get(slot.member)
            if mine and mine[-1] == token:  # undone newest first: it is the last
                mine.pop()
        else:
            s.turns[token] = old
            s.turns_by_state.setdefault(old.state, {})[token] = None

    def _append(self, items: list[Any], item: Any) -> None:
        length = len(items)
        self._log.record(lambda: items.__delitem__(slice(length, None)))
        items.append(item)

    def _put_key(self, mapping: dict[Any, Any], key: Any, value: Any) -> None:
        old = mapping.get(key, _MISSING)

        def undo() -> None:
            if old is _MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old

        self._log.record(undo)
        mapping[key] = value

    # -- run --

    def run(self) -> RunInfo:
        return replace(self._s.run, meta=json.loads(self._s.meta_json))

    def update_run(self, *, status: RunStatus | None = None, round: int | None = None,
                   reason: str | None = None) -> None:
        run = self._s.run
        self._set_run(replace(
            run,
            status=run.status if status is None else status,
            round=run.round if round is None else round,
            reason=run.reason if reason is None else reason,
        ), self._s.meta_json)

    def set_meta(self, meta: dict[str, Any]) -> None:
        self._set_run(self._s.run, _dump(meta))

    # -- members --

    def completed(self) -> list[str]:
        return list(self._s.completed)

    def set_completed(self, member: str) -> None:
        if member not in self._s.completed:
            self._append(self._s.completed, member)

    def sessions(self) -> dict[str, str]:
        return dict(self._s.sessions)

    def set_session(self, member: str, session_id: str) -> None:
        self._put_key(self._s.sessions, member, session_id)

    # -- tasks --

    def tasks(self, *, owner: str | None = None, status: TaskStatus | None = None,
              claim_token: str | None = None, limit: int | None = None
              ) -> list[TaskRecord]:
        s = self._s
        # The narrowest index that covers the filters; the rest are checked per task.
        ids: list[int] | None = None
        if owner is not None and status is not None:
            ids = s.by_owner_status.get((owner, status), [])
        elif owner is not None:
            ids = s.by_owner.get(owner, [])
        elif status is not None:
            ids = s.by_status.get(status, [])
        if claim_token is not None:
            claims = s.by_token.get(claim_token, [])
            if ids is None or len(claims) < len(ids):
                ids = claims
        if ids is None:
            ids = list(s.tasks)
        found: list[TaskRecord] = []
        for task_id in ids:
            if limit is not None and len(found) >= limit:
                break
            t = s.tasks[task_id]
            if ((owner is None or t.owner == owner) and (status is None or t.status == status)
                    and (claim_token is None or t.claim_token == claim_token)):
                found.append(t)
        return found

    def count_tasks(self, *, owner: str | None = None,
                    status: TaskStatus | None = None) -> int:
        s = self._s
        if owner is not None and status is not None:
            return len(s.by_owner_status.get((owner, status), ()))
        if owner is not None:
            return len(s.by_owner.get(owner, ()))
        if status is not None:
            return len(s.by_status.get(status, ()))
        return len(s.tasks)

    def queue_depths(self) -> dict[str, int]:
        return {owner: len(ids) for (owner, status), ids in self._s.by_owner_status.items()
                if status == "queued"}

    def add_task(self, *, owner: str, text: str, queued_by: str, chain: tuple[str, ...],
                 parent_id: int | None) -> TaskRecord:
        task = TaskRecord(self._s.next_task_id, owner, text, queued_by, "queued", 0, None,
                          tuple(chain), parent_id)
        def undo() -> None:
            self._s.next_task_id = task.id

        self._log.record(undo)
        self._put_task(task.id, task)
        self._s.next_task_id += 1
        return task

    def set_task(self, task_id: int, *, status: TaskStatus, claim_token: str | None,
                 attempts: int) -> None:
        task = self._s.tasks[task_id]
        self._put_task(task_id, replace(task, status=status, claim_token=claim_token,
                                        attempts=attempts))

    # -- artifacts --

    def add_artifact(self, *, member: str, kind: str, summary: str) -> Artifact:
        artifact = Artifact(len(self._s.artifacts) + 1, member, kind, summary)
        self._append(self._s.artifacts, artifact)
        return artifact

    def artifacts(self, *, last: int | None = None) -> list[Artifact]:
        items = self._s.artifacts
        return list(items[-last:] if last is not None else items)

    def artifact_count(self) -> int:
        return len(self._s.artifacts)

    # -- turns --

    def add_turn(self, slot: TurnSlot) -> None:
        self._put_turn(slot)

    def update_turn(self, token: str, *, turn_id: str | None = None,
                    state: TurnState | None = None, reason: str | None = None) -> None:
        slot = self._s.turns.get(token)
        if slot is None:
            return  # as an UPDATE that matches no row
        self._put_turn(replace(
            slot,
            turn_id=slot.turn_id if turn_id is None else turn_id,
            state=slot.state if state is None else state,
            reason=slot.reason if reason is None else reason,
        ))

    def turns(self, *, state: TurnState | None = None, member: str | None = None,
              token: str | None = None) -> list[TurnSlot]:
        s = self._s
        tokens: list[str]
        if token is not None:
            tokens = [token] if token in s.turns else []
        elif state is not None:
            in_state = s.turns_by_state.get(state, {})
            mine = s.turns_by_member.get(member, []) if member is not None else None
            if mine is not None and len(mine) < len(in_state):
                tokens = mine
            else:
                tokens = sorted(in_state, key=s.turn_seq.__getitem__)
        elif member is not None:
            tokens = s.turns_by_member.get(member, [])
        else:
            tokens = list(s.turns)
        slots = (s.turns[t] for t in tokens)
        return [slot for slot in slots
                if (state is None or slot.state == state)
                and (member is None or slot.member == member)]

    # -- approvals --

    def add_approval(self, *, key: str | None, member: str, tool: str,
                     question: str) -> ApprovalRecord:
        record = ApprovalRecord(len(self._s.approvals) + 1, key, member, tool, question,
                                "pending", "")
        self._put_key(self._s.approvals, record.id, record)
        return record

    def set_approval(self, approval_id: int, *, state: ApprovalState,
                     answered_by: str) -> None:
        old = self._s.approvals.get(approval_id)
        if old is not None:
            self._put_key(self._s.approvals, approval_id,
                          replace(old, state=state, answered_by=answered_by))

    def approvals(self) -> list[ApprovalRecord]:
        return [self._s.approvals[i] for i in sorted(self._s.approvals)]

    # -- exactly-once tool calls --

    def get_record(self, key: str) -> ToolCallRecord | None:
        found = self._s.records.get(key)
        if found is None:
            return None
        member, tool, result = found
        return ToolCallRecord(key, member, tool, json.loads(result))

    def put_record(self, record: ToolCallRecord) -> None:
        self._put_key(self._s.records, record.key,
                      (record.member, record.tool, _dump(record.result)))

    def records(self) -> list[ToolCallRecord]:
        return [ToolCallRecord(key, member, tool, json.loads(result))
                for key, (member, tool, result) in self._s.records.items()]

    # -- effects --

    def effect_uses(self, key: str) -> list[EffectRecord]:
        effects = self._s.effects
        return [effects[i].record() for i in self._s.effects_by_key.get(key, [])]

    def put_effect(self, record: EffectRecord) -> None:
        s = self._s
        position = len(s.effects)
        self._log.record(lambda: index_remove(s.effects_by_key, record.key, position))
        self._append(s.effects, _Effect(record.key, record.token, record.member, record.tool,
                                        _dump(record.result)))
        index_add(s.effects_by_key, record.key, position)

    def effects(self) -> list[EffectRecord]:
        return [e.record() for e in self._s.effects]


class MemoryStore:
    def __init__(self, *, run_id: str, team: str, roster: tuple[str, ...],
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "",
                 meta: dict[str, Any] | None = None) -> None:
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        self._state = _State(RunInfo(run_id, team, tuple(roster), "running", 0, "",
                                     max_attempts, team_text, {}, now, now),
                             _dump(meta or {}))
        self._lock = threading.RLock()
        self._log = UndoLog()

    @property
    def run_id(self) -> str:
        return self._state.run.run_id

    @contextmanager
    def transaction(self, *, write: bool, members: Members = None) -> Iterator[_MemoryTx]:
        # Reads and writes alike: whatever a failed block changed is taken back.
        with self._lock:
            mark = self._log.mark()
            try:
                yield _MemoryTx(self._state, self._log)
            except BaseException:
                self._log.roll_back(mark)
                raise
            if mark == 0:
                self._log.forget()

    def close(self) -> None:
        pass
