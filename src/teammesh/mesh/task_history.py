"""Which turns claimed each task, and when: read back from the run record.

The board keeps a task's current claim only (`claim_token`); every claim is in the record
as an applied `team_pull_work` call of a turn, whose result names the task by its text (the
agent's view, which has no id). So the claims are replayed here, per (owner, text), in the
order they were made: a pull takes the lowest-id task of its group that is neither done nor
held, exactly as the board's queue head is chosen (`ORDER BY id`); a claim ends done with a
turn that went well (`ok`), or goes back with a failed or lost one at that turn's end.
Tasks with one (owner, text) each, the usual case, need none of that: their claims are
simply theirs.

Read-only and O(tasks + calls) per read; the web board and `teammesh runs show --json`
share it. Bounded: the newest `PER_TASK` claims of a task (one is claimed at most
max_attempts times plus replays, but a board is not trusted to say so)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from teammesh.mesh.board.protocol import TaskRecord
from teammesh.mesh.board.run_record import CallEntry, RunRecord, TurnEntry

PULL_WORK = "team_pull_work"
PER_TASK = 10


@dataclass(frozen=True)
class Claim:
    """One turn's claim of a task: the nth attempt at it (1-based, in claim order)."""

    member: str
    round: int
    turn_state: str
    attempt: int
    claimed_at: float | None
    turn_ended_at: float | None

    def public(self) -> dict[str, Any]:
        return {"member": self.member, "round": self.round, "turn_state": self.turn_state,
                "attempt": self.attempt, "claimed_at": self.claimed_at,
                "turn_ended_at": self.turn_ended_at}


def _pulled_text(call: CallEntry) -> str | None:
    """The task text an applied pull claimed (None: a pull that found nothing)."""
    if call.tool != PULL_WORK or call.outcome != "applied" or call.success is False:
        return None
    result = call.result
    task = result.get("task") if isinstance(result, dict) else None
    return task if isinstance(task, str) else None


def claims_by_task(tasks: Iterable[TaskRecord], record: RunRecord | None
                   ) -> dict[int, list[Claim]]:
    """Each task id's claims, oldest first (at most `PER_TASK`, the newest)."""
    if record is None:
        return {}
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for task in tasks:
        groups[(task.owner, task.text)].append(task.id)
    turns = {turn.token: turn for turn in record.turns}
    pulls = sorted(((call, text) for call in record.calls
                    if (text := _pulled_text(call)) is not None
                    and (call.member, text) in groups),
                   key=lambda pair: pair[0].started_at or 0.0)
    found: dict[int, list[Claim]] = defaultdict(list)
    held: dict[int, TurnEntry | None] = {}  # task id -> the turn holding it
    done: set[int] = set()
    for call, text in pulls:
        turn = turns.get(call.turn_token or "")
        at = call.started_at
        ids = sorted(groups[(call.member, text)])
        task_id = ids[0] if len(ids) == 1 else _next_free(ids, held, done, at)
        if task_id is None:
            continue
        if turn is not None and turn.state == "ok":
            done.add(task_id)
        else:
            held[task_id] = turn
        found[task_id].append(Claim(
            call.member, turn.round if turn else 0, turn.state if turn else "unknown",
            len(found[task_id]) + 1, at, turn.ended_at if turn else None))
    return {task_id: claims[-PER_TASK:] for task_id, claims in found.items()}


def _next_free(ids: list[int], held: dict[int, TurnEntry | None], done: set[int],
               at: float | None) -> int | None:
    """The lowest id of the group a pull at `at` could claim: not done, and not held by a
    turn still going at that time (a failed or lost turn gave its claim back when it
    ended)."""
    for task_id in ids:
        if task_id in done:
            continue
        holder = held.get(task_id, None)
        if task_id not in held or (
                holder is not None and holder.state in ("failed", "lost")
                and holder.ended_at is not None and at is not None and holder.ended_at <= at):
            held.pop(task_id, None)
            return task_id
    return None


def tasks_json(tasks: list[TaskRecord], record: RunRecord | None) -> list[dict[str, Any]]:
    """Every task with its claims (`teammesh runs show --json`)."""
    claims = claims_by_task(tasks, record)
    return [{"id": t.id, "owner": t.owner, "text": t.text, "queued_by": t.queued_by,
             "status": t.status, "attempts": t.attempts, "parent": t.parent_id,
             "claims": [c.public() for c in claims.get(t.id, ())]} for t in tasks]
