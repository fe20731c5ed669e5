"""What a team run hands back: its status and reason, its counts, and when each turn ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teammesh.mesh.board.run_record import Usage
from teammesh.mesh.foreign import AnswerFault


@dataclass(frozen=True)
class TurnRecord:
    """When a member's turn ran (monotonic seconds), for reports and overlap checks."""

    member: str
    round: int
    started: float
    ended: float
    ok: bool


@dataclass
class RunOutcome:
    run_id: str
    status: str  # "complete" or "incomplete"
    reason: str
    missing: list[str]
    rounds: int
    turns: int
    tool_calls: int
    snapshot: dict[str, Any]
    turn_log: list[TurnRecord] = field(default_factory=list)
    # Tool calls whose answer the agent got was not the runner's (each failed its turn).
    answer_faults: list[AnswerFault] = field(default_factory=list)
    # The tokens the run's turns reported (all runs of it, resumes included) and what they
    # cost; None when unknown (no model reported usage; a model without a known price).
    usage: Usage | None = None
    cost_usd: float | None = None

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def makespan(self) -> float:
        """Seconds from the first turn's start to the last turn's end."""
        if not self.turn_log:
            return 0.0
        return (max(t.ended for t in self.turn_log)
                - min(t.started for t in self.turn_log))
