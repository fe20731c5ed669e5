"""A team's workspaces driven through the members' real skills (`MemberSkills` with their
workspace hooks) over a real board and real git: what an agent's tool calls do to the
worktrees, without a gateway in between (the run tests cover that path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from teammesh.client import SkillContext
from teammesh.mesh.board import TeamBoard, TurnSlot, create_board
from teammesh.mesh.skills import MemberSkills
from teammesh.mesh.work_handoff import TeamWork
from teammesh.mesh.work_skills import MemberWork
from teammesh.mesh.workspaces import Layout, open_workspaces, work_root

from .workspace_repo import make_repo


class Agent:
    """One member: its skills bound to its worktree, one turn at a time."""

    def __init__(self, board: TeamBoard, work: TeamWork, name: str) -> None:
        self.name, self.board = name, board
        self.slot: TurnSlot | None = None
        self.skills = MemberSkills(member=name, board=board,
                                   turn_token=lambda: self.slot.token if self.slot else None)
        self.skills.work = MemberWork(name, work, self.skills.turn_token)
        self.tree = work.layout.worktree(name)
        self.calls = 0

    def turn(self, round_number: int = 1) -> None:
        self.slot = self.board.open_turn(self.name, round_number)

    def call(self, tool: str, request_id: str | None = None, **arguments: Any
             ) -> dict[str, Any]:
        """The call's answer payload, and (when it succeeded) its result."""
        self.calls += 1
        ctx = SkillContext(tool=tool, session_id=f"sess-{self.name}",
                           request_id=request_id or f"{self.name}-{self.calls}",
                           arguments=arguments)
        payload: dict[str, Any] = self.skills.handlers()[tool](ctx, **arguments)
        return payload

    def ok(self, tool: str, request_id: str | None = None, **arguments: Any
           ) -> dict[str, Any]:
        payload = self.call(tool, request_id, **arguments)
        assert payload["success"] is True, payload
        result: dict[str, Any] = json.loads(payload["contentItems"][0]["text"])
        return result

    def write(self, name: str, text: str) -> None:
        (self.tree / name).parent.mkdir(parents=True, exist_ok=True)
        (self.tree / name).write_text(text)


def team_work(tmp_path: Path, roster: tuple[str, ...], integrator: str | None = "reviewer"
              ) -> tuple[TeamBoard, TeamWork, dict[str, Agent]]:
    repo = make_repo(tmp_path / "proj")
    board = create_board(run_id="run-w", team="t", roster=roster,
                         path=tmp_path / "board.sqlite")
    layout = open_workspaces(Layout("run-w", repo, work_root(tmp_path, "run-w")), roster)
    board.update_meta(workspace=layout.meta())
    work = TeamWork(layout, board, integrator)
    return board, work, {name: Agent(board, work, name) for name in roster}
