"""What the parts of one team run share: the team, its board, the settings in force, the
members and their tool calls, and the run's running tallies.

The runner (`runner.py`) builds one and hands it, as their explicit first argument, to the
turn driver (`run_turn.py`), the recovery after a crash (`run_recovery.py`) and the rounds
(`run_rounds.py`), so none of them reaches into another for what they all need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from teammesh.mesh.board import TeamBoard
from teammesh.mesh.calls import MemberState, ToolCalls
from teammesh.mesh.foreign import AnswerFault
from teammesh.mesh.output import Printer
from teammesh.mesh.run_options import RunOptions
from teammesh.mesh.run_outcome import TurnRecord
from teammesh.mesh.run_settings import RunSettings
from teammesh.mesh.team import Team
from teammesh.mesh.usage_totals import UsageTotals
from teammesh.mesh.workspaces import Layout


@dataclass
class RunState:
    team: Team
    board: TeamBoard
    options: RunOptions
    printer: Printer
    settings: RunSettings
    calls: ToolCalls
    members: dict[str, MemberState] = field(default_factory=dict)
    # Turns scheduled so far (counted when scheduled: the budget sees a turn at once).
    turns: int = 0
    turn_log: list[TurnRecord] = field(default_factory=list)
    # Tool calls whose answer was not the runner's (each failed its turn).
    answer_faults: list[AnswerFault] = field(default_factory=list)
    # A failure that will recur (configuration) stops the run: set, no new turn starts.
    stopped_by: str | None = None
    failures_in_a_row: dict[str, int] = field(default_factory=dict)
    # The members' worktrees (`[team] repo`), None without a repository.
    workspace: Layout | None = None
    # Tokens and cost so far, this run's and its earlier runners' (budgets read it).
    usage: UsageTotals = field(default_factory=UsageTotals)

    def changed(self) -> None:
        """Tell the caller the board changed (the live view redraws)."""
        if self.options.on_change is not None:
            self.options.on_change()

    def stream_covers(self, member: MemberState) -> bool:
        """True when this run listens on the stream and it covers the member's session."""
        assert member.session is not None
        return self.options.use_stream and member.cm.turns.covers(member.session.session_id)
