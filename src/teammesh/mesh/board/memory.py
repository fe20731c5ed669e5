"""The in-memory store: the board of a run that needs no crash recovery (tests, demos with
`--board memory`). One lock serialises transactions; a failed write transaction is rolled
back by restoring a copy of the state taken when it began."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

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


@dataclass
class _State:
    run: RunInfo
    completed: list[str] = field(default_factory=list)
    sessions: dict[str, str] = field(default_factory=dict)
    tasks: dict[int, TaskRecord] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    turns: dict[str, TurnSlot] = field(default_factory=dict)
    records: dict[str, ToolCallRecord] = field(default_factory=dict)
    effects: list[EffectRecord] = field(default_factory=list)
    approvals: dict[int, ApprovalRecord] = field(default_factory=dict)
    next_task_id: int = 1


class _MemoryTx:
    def __init__(self, state: _State) -> None:
        self._s = state

    def run(self) -> RunInfo:
        return self._s.run

    def update_run(self, *, status: RunStatus | None = None, round: int | None = None,
                   reason: str | None = None) -> None:
        run = self._s.run
        self._s.run = replace(
            run,
            status=run.status if status is None else status,
            round=run.round if round is None else round,
            reason=run.reason if reason is None else reason,
        )

    def set_meta(self, meta: dict[str, Any]) -> None:
        self._s.run = replace(self._s.run, meta=copy.deepcopy(meta))

    def completed(self) -> list[str]:
        return list(self._s.completed)

    def set_completed(self, member: str) -> None:
        if member not in self._s.completed:
            self._s.completed.append(member)

    def sessions(self) -> dict[str, str]:
        return dict(self._s.sessions)

    def set_session(self, member: str, session_id: str) -> None:
        self._s.sessions[member] = session_id

    def tasks(self, *, owner: str | None = None, status: TaskStatus | None = None,
              claim_token: str | None = None, limit: int | None = None
              ) -> list[TaskRecord]:
        found = [
            t for _, t in sorted(self._s.tasks.items())
            if (owner is None or t.owner == owner)
            and (status is None or t.status == status)
            and (claim_token is None or t.claim_token == claim_token)
        ]
        return found if limit is None else found[:limit]

    def count_tasks(self, *, owner: str | None = None,
                    status: TaskStatus | None = None) -> int:
        return sum(1 for t in self._s.tasks.values()
                   if (owner is None or t.owner == owner)
                   and (status is None or t.status == status))

    def add_task(self, *, owner: str, text: str, queued_by: str, chain: tuple[str, ...],
                 parent_id: int | None) -> TaskRecord:
        task = TaskRecord(self._s.next_task_id, owner, text, queued_by, "queued", 0, None,
                          chain, parent_id)
        self._s.tasks[task.id] = task
        self._s.next_task_id += 1
        return task

    def set_task(self, task_id: int, *, status: TaskStatus, claim_token: str | None,
                 attempts: int) -> None:
        task = self._s.tasks[task_id]
        self._s.tasks[task_id] = replace(task, status=status, claim_token=claim_token,
                                         attempts=attempts)

    def add_artifact(self, *, member: str, kind: str, summary: str) -> Artifact:
        artifact = Artifact(len(self._s.artifacts) + 1, member, kind, summary)
        self._s.artifacts.append(artifact)
        return artifact

    def artifacts(self, *, last: int | None = None) -> list[Artifact]:
        items = self._s.artifacts
        return list(items[-last:] if last is not None else items)

    def artifact_count(self) -> int:
        return len(self._s.artifacts)

    def add_turn(self, slot: TurnSlot) -> None:
        self._s.turns[slot.token] = slot

    def update_turn(self, token: str, *, turn_id: str | None = None,
                    state: TurnState | None = None, reason: str | None = None) -> None:
        slot = self._s.turns[token]
        self._s.turns[token] = replace(
            slot,
            turn_id=slot.turn_id if turn_id is None else turn_id,
            state=slot.state if state is None else state,
            reason=slot.reason if reason is None else reason,
        )

    def turns(self, *, state: TurnState | None = None, member: str | None = None,
              token: str | None = None) -> list[TurnSlot]:
        if token is not None:
            slot = self._s.turns.get(token)
            candidates = [slot] if slot is not None else []
        else:
            candidates = list(self._s.turns.values())
        return [
            s for s in candidates
            if (state is None or s.state == state) and (member is None or s.member == member)
        ]

    def add_approval(self, *, key: str | None, member: str, tool: str,
                     question: str) -> ApprovalRecord:
        record = ApprovalRecord(len(self._s.approvals) + 1, key, member, tool, question,
                                "pending", "")
        self._s.approvals[record.id] = record
        return record

    def set_approval(self, approval_id: int, *, state: ApprovalState,
                     answered_by: str) -> None:
        self._s.approvals[approval_id] = replace(self._s.approvals[approval_id], state=state,
                                                 answered_by=answered_by)

    def approvals(self) -> list[ApprovalRecord]:
        return [self._s.approvals[i] for i in sorted(self._s.approvals)]

    def get_record(self, key: str) -> ToolCallRecord | None:
        return self._s.records.get(key)

    def put_record(self, record: ToolCallRecord) -> None:
        self._s.records[record.key] = record

    def records(self) -> list[ToolCallRecord]:
        return list(self._s.records.values())

    def effect_uses(self, key: str) -> list[EffectRecord]:
        return [e for e in self._s.effects if e.key == key]

    def put_effect(self, record: EffectRecord) -> None:
        self._s.effects.append(record)

    def effects(self) -> list[EffectRecord]:
        return list(self._s.effects)


class MemoryStore:
    def __init__(self, *, run_id: str, team: str, roster: tuple[str, ...],
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, team_text: str = "",
                 meta: dict[str, Any] | None = None) -> None:
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        self._state = _State(RunInfo(run_id, team, tuple(roster), "running", 0, "",
                                     max_attempts, team_text, dict(meta or {}), now, now))
        self._lock = threading.RLock()

    @property
    def run_id(self) -> str:
        return self._state.run.run_id

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[_MemoryTx]:
        with self._lock:
            if not write:
                yield _MemoryTx(self._state)
                return
            before = copy.deepcopy(self._state)
            try:
                yield _MemoryTx(self._state)
            except BaseException:
                self._state = before
                raise

    def close(self) -> None:
        pass
