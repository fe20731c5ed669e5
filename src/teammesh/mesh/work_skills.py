"""The workspace side of one member's skills: what `team_publish_artifact` and
`team_pull_work` do to its worktree around the board's own operation (`skills.py` calls
these three hooks when the run has workspaces).

- before a publish: commit the worktree (`TeamWork.commit_work`) and name the commit at the
  end of the summary; a replayed call (its key already on the board) touches nothing;
- after a publish by the integrator: merge the reviewed commit (`integration.py`);
- after a pull that claimed a task: start from the task's commit (`TeamWork.start_from`).

What git did goes back to the agent in the answer (`workspace`, `merge`), never onto the
board's recorded result, so a replay answers as the board recorded it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teammesh.mesh.board import BoardRefusal
from teammesh.mesh.board.core import MAX_TEXT_CHARS, clean_text
from teammesh.mesh.git_cmd import GitError
from teammesh.mesh.integration import merge_reviewed
from teammesh.mesh.work_handoff import TeamWork, work_line


@dataclass
class MemberWork:
    member: str
    work: TeamWork
    turn_token: Callable[[], str | None]

    def before_publish(self, kind: object, summary: object) -> str:
        """The summary to publish: the worktree committed first (the board's own rules
        checked before anything is committed), its commit named on the last line."""
        clean_kind, clean = clean_text("kind", kind), clean_text("summary", summary)
        try:
            made = self.work.commit_work(self.member, clean_kind, clean)
        except GitError as exc:
            line = f"[work not committed: {' '.join(str(exc).split())[:200]}]"
        else:
            if made is None:
                return clean
            line = work_line(*made)
        room = MAX_TEXT_CHARS - len(line) - 1
        return f"{clean[:room].rstrip()}\n{line}"

    def after_publish(self, result: dict[str, Any], replayed: bool) -> dict[str, Any]:
        if replayed:
            return result
        try:
            merged = merge_reviewed(self.work, self.member, self.turn_token())
        except GitError as exc:
            merged = {"merged": False, "problem": str(exc)[:300]}
        return result if merged is None else {**result, "merge": merged}

    def after_pull(self, result: dict[str, Any]) -> dict[str, Any]:
        if not result.get("task"):
            return result
        task = self.work.board.current_claim(self.member, self.turn_token())
        commit = self.work.handoff_commit(task, self.member) if task is not None else None
        if commit is None:
            tree = self.work.layout.worktree(self.member)
            return {**result, "workspace": {"cwd": str(tree),
                                            "branch": self.work.layout.branch(self.member)}}
        try:
            said = self.work.start_from(self.member, commit)
        except BoardRefusal as exc:  # the claim stands; the agent learns its tree is wrong
            said = {"startsFrom": None, "problem": str(exc)}
        return {**result, "workspace": said}

