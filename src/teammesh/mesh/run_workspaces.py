"""Opening a run's workspaces (`workspaces.py`) and binding them to the members' skills.

Called by the runner before the sessions are opened, since each session's cwd is its
member's worktree. A resumed run finds its worktrees where its metadata says they are; a
new run makes them under `.teammesh/runs/<run id>.work/` of the directory it starts in.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from teammesh.mesh.git_cmd import GitError, out
from teammesh.mesh.integration import default_integrator
from teammesh.mesh.run_state import RunState
from teammesh.mesh.work_handoff import TeamWork
from teammesh.mesh.work_skills import MemberWork
from teammesh.mesh.workspaces import Layout, open_workspaces, resolve_repo, work_root


def _open(state: RunState) -> Layout | None:
    team, board = state.team, state.board
    if team.repo is None:
        return None
    layout = Layout.from_meta(board.info().meta.get("workspace"))
    if layout is None:
        start = Path.cwd()
        layout = Layout(board.run_id, resolve_repo(team.repo, start),
                        work_root(start, board.run_id))
    layout = open_workspaces(layout, team.roster)
    board.update_meta(workspace=layout.meta())
    return layout


async def open_team_work(state: RunState) -> None:
    """Make (or find) every member's worktree; give its skills the workspace hooks."""
    layout = await asyncio.to_thread(_open, state)
    if layout is None:
        return
    state.workspace = layout
    work = TeamWork(layout, state.board,
                    default_integrator(state.team.roster, state.team.policies.integrator))
    for name, member in state.members.items():
        member.skills.work = MemberWork(name, work, member.skills.turn_token)
    state.printer.note(f"workspaces: {layout.root} (repository {layout.repo}, integration"
                       f" branch {layout.integration_branch})")


def report_work(state: RunState) -> None:
    """One note at the end of the run: where the integration branch is and what it holds."""
    layout = state.workspace
    if layout is None:
        return
    try:
        commits = out(layout.repo, "rev-list", "--count", layout.integration_branch)
        files = out(layout.repo, "ls-tree", "-r", "--name-only", layout.integration_branch)
    except GitError as exc:
        state.printer.note(f"work: cannot read {layout.integration_branch}: {exc}")
        return
    named = ", ".join(files.split()[:12]) or "no files"
    state.printer.note(f"work: branch {layout.integration_branch} of {layout.repo}"
                       f" ({commits} commit(s)): {named}; see git -C {layout.repo} log"
                       f" --graph --all")
