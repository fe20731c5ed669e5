"""The page's whole state as one JSON object, read from the board (plus, in the runner's
process, its live state): what the SSE stream pushes and `/api/state` answers.

Nothing secret goes in: the board holds no tokens, and the run's metadata (which may name a
gateway URL or the environment variable of a key) is left out whole: the page needs none of
it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from teammesh.mesh.board import TeamBoard
from teammesh.mesh.board.run_record import RunRecord
from teammesh.mesh.criteria import Criterion, RunFacts
from teammesh.mesh.task_history import claims_by_task
from teammesh.mesh.team import Team
from teammesh.web.member_state import member_state
from teammesh.web.timeline import read_record, timeline, usage
from teammesh.web.watch import Watch

# Tasks and artifacts the page lists, the newest: the whole state goes to every open page on
# every change, and an agent that publishes thousands of 8000-character artifacts made that
# tens of MB per push (read, fingerprinted and encoded in the runner's own loop). The
# counters keep the totals; `teammesh board show` lists everything.
LISTED = 100


@dataclass
class Source:
    """What one page reads: a run's board, its team, the page's watch, and (in the runner's
    process) the live `RunState`."""

    board: TeamBoard
    team: Team
    watch: Watch
    read_only: bool = False
    live: Any = None  # RunState, when the page is served by the runner itself

    @property
    def origin(self) -> str:
        return "runner" if self.live is not None else "board"


def _criteria(criterion: Criterion, board: TeamBoard, facts: RunFacts) -> dict[str, Any]:
    missing = criterion.missing(board, facts)
    parts = [_criteria(part, board, facts) for part in criterion.parts]
    return {"description": criterion.description, "holds": not missing, "missing": missing,
            "parts": parts}


def _facts(source: Source, info_round: int, turns: int, calls: int) -> RunFacts:
    live = source.live
    if live is not None:
        return RunFacts(round=info_round, turns=live.turns, tool_calls=live.calls.count)
    return RunFacts(round=info_round, turns=turns, tool_calls=calls)


def _span(record: RunRecord | None, watch: Watch) -> dict[str, float | None]:
    """When the run's first turn started and its last one ended (the record's times; the
    page's own start when there is no record yet): a finished run's clock stops there."""
    starts = [t.started_at for t in record.turns if t.started_at] if record else []
    ends = [t.ended_at for t in record.turns if t.ended_at] if record else []
    return {"started": min(starts, default=watch.started), "ended": max(ends, default=None)}


def snapshot(source: Source) -> dict[str, Any]:
    board, team, watch = source.board, source.team, source.watch
    info = board.info()
    tasks = board.tasks()
    turns = board.turns()
    approvals = board.approvals()
    done = set(board.completed())
    sessions = board.sessions()
    artifacts = board.artifacts()
    record = read_record(board)
    if record is not None:  # exact start times, also for a turn begun before the page
        watch.note_starts({t.token: t.started_at for t in record.turns if t.started_at})
    watch.see_turns(turns)
    watch.see_tasks(tasks)
    members = []
    for spec in team.members:
        targets = spec.targets if spec.targets is not None else tuple(
            m for m in team.roster if m != spec.name)
        members.append({
            # targets: the handoffs allowed (the `owner` enum); flow: the ones the member's
            # prompt makes (the graph's layout follows them).
            "name": spec.name, "role": spec.role, "targets": list(targets),
            "flow": list(spec.handoffs),
            "queued": sum(1 for t in tasks if t.owner == spec.name and t.status == "queued"),
            "claimed": next((t.text for t in tasks
                             if t.owner == spec.name and t.status == "claimed"), None),
            "done": spec.name in done, "session": spec.name in sessions,
            "turns": sum(1 for t in turns if t.member == spec.name),
            "state": member_state(spec.name, done=spec.name in done, turns=turns,
                                  approvals=approvals, watch=watch, live=source.live),
        })
    used = usage(record)
    calls = len(record.calls) if record is not None else len(board.records())
    facts = _facts(source, info.round, len(turns), calls)
    claims = claims_by_task(tasks, record)  # all tasks: a same-text task may be older
    return {
        "now": time.time(),
        "origin": source.origin,
        "read_only": source.read_only,
        "run": {"id": info.run_id, "team": info.team, "status": info.status,
                "round": info.round, "reason": info.reason, "created_at": info.created_at,
                "updated_at": info.updated_at, **_span(record, watch)},
        "members": members,
        "tasks": [{"id": t.id, "owner": t.owner, "text": t.text, "queued_by": t.queued_by,
                   "status": t.status, "attempts": t.attempts, "parent": t.parent_id,
                   "chain": list(t.chain),
                   "claims": [c.public() for c in claims.get(t.id, ())]}
                  for t in tasks[-LISTED:]],
        "artifacts": [{"id": a.id, "member": a.member, "kind": a.kind, "summary": a.summary}
                      for a in artifacts[-LISTED:]],
        "approvals": [{"id": a.id, "member": a.member, "tool": a.tool,
                       "question": a.question, "state": a.state,
                       "answered_by": a.answered_by} for a in approvals],
        "criteria": _criteria(team.completion, board, facts),
        "limits": [{"description": limit.description,
                    "missing": limit.missing(board, facts)}
                   for limit in team.completion.limits],
        "counters": {"round": info.round, "rounds": team.rounds, "turns": facts.turns,
                     "tool_calls": facts.tool_calls,
                     "failed_turns": sum(1 for t in turns if t.state in ("failed", "lost")),
                     "dead_letters": sum(1 for t in tasks if t.status == "dead"),
                     "artifacts": len(artifacts), "tasks": len(tasks),
                     "usage": used},
        "timeline": timeline(record, watch, team.roster),
    }
