"""Integration is a step: the member with the right merges the work it reviewed into the
run's integration branch, and a conflict is refused on the board and handed back.

Who has the right: `[policies] integrator` (a member of the roster), else the `reviewer`
when the team has one. When that member publishes (its review) while it holds a task that
was handed off with a commit (`TeamWork.handoff_commit`), the runner merges that commit
into the integration branch, in the run's own `_integration` worktree (no member's cwd).
The commit is recorded `merged`. A merge that conflicts is aborted (the branch stays as it
was), a `merge_refused` artifact names the conflicting files, and a task goes back to the
commit's author, keyed so it is queued once; that task starts from the integration
branch's head, so the author resolves the conflict in its own worktree and publishes again.

Replays merge nothing twice: a commit the integration branch already holds is "already
merged"; the refusal artifact and the hand-back are keyed by commit and branch head.

The criteria `merged` (every published commit is on the integration branch, and there is
at least one) and `check` (a command, run without a shell in the integration worktree, exits
0; its result is kept per branch head) read the same records.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teammesh.mesh import criteria as crit
from teammesh.mesh.board import TeamBoard
from teammesh.mesh.git_cmd import GitError, git, git_env, out
from teammesh.mesh.work_handoff import TeamWork, conflicted_files, is_ancestor
from teammesh.mesh.workspaces import Layout, WorkspaceError, verify_tree

CHECK_TIMEOUT = 300.0
MAX_CHECK_OUTPUT = 300


def default_integrator(roster: tuple[str, ...], named: str | None) -> str | None:
    if named is not None:
        return named
    return "reviewer" if "reviewer" in roster else None


def merge_reviewed(work: TeamWork, member: str, token: str | None) -> dict[str, Any] | None:
    """After the integrator's publish: merge the commit its task was handed off with."""
    if member != work.integrator:
        return None
    task = work.board.current_claim(member, token)
    commit = work.handoff_commit(task, member) if task is not None else None
    if commit is None:
        return None
    layout = work.layout
    where = layout.integration_dir
    try:
        verify_tree(layout, where, layout.integration_branch)
    except WorkspaceError as exc:
        return {"commit": commit[:12], "merged": False, "problem": str(exc)}
    with work.lock:
        entry = work.records().get(commit, {})
        author = str(entry.get("member") or (task.queued_by if task else ""))
        if is_ancestor(where, commit, "HEAD"):
            work.record(commit, merged=out(where, "rev-parse", "HEAD"))
            return {"commit": commit[:12], "merged": True, "already": True}
        title = f"merge {author}'s {commit[:12]} (reviewed by {member})"
        done = git(where, "merge", "--quiet", "--no-ff", "--no-edit", "-m", title, commit,
                   check=False)
        if done.returncode == 0:
            head = out(where, "rev-parse", "HEAD")
            work.record(commit, merged=head)
            return {"commit": commit[:12], "merged": True, "integration": head[:12],
                    "branch": layout.integration_branch}
        conflicts = conflicted_files(where)
        git(where, "merge", "--abort", check=False)
        head = out(where, "rev-parse", "HEAD")
    return _refuse(work, member, author, commit, head, conflicts, done.stderr)


def _refuse(work: TeamWork, member: str, author: str, commit: str, head: str,
            conflicts: list[str], stderr: str) -> dict[str, Any]:
    board = work.board
    files = ", ".join(conflicts) if conflicts else " ".join(stderr.split())[:200]
    summary = (f"merge of {author}'s commit {commit[:12]} into"
               f" {work.layout.integration_branch} refused: conflicts in {files}")
    board.publish_artifact(member, "merge_refused", summary,
                           key=f"merge-refused:{commit}:{head}")
    handed: str | None = None
    if author in board.roster:
        text = (f"Your commit {commit[:12]} conflicts with the integration branch in {files}."
                " Resolve the conflict in your worktree and publish again.")
        queued = board.queue_work(author, text, by=member, key=f"handback:{commit}:{head}")
        if queued.get("queued"):
            handed = author
            task = [t for t in board.tasks() if t.owner == author and t.text == text]
            if task:
                with work.lock:
                    backs = work.handbacks()
                    backs[str(task[-1].id)] = head
                    board.update_meta(handbacks=backs)
    return {"commit": commit[:12], "merged": False, "conflicts": conflicts,
            "handedBackTo": handed}


# -- criteria --------------------------------------------------------------------------------


def _layout(board: TeamBoard) -> Layout | None:
    return Layout.from_meta(board.info().meta.get("workspace"))


def merged_criterion() -> crit.Criterion:
    def check(board: TeamBoard, _facts: crit.RunFacts) -> list[str]:
        layout = _layout(board)
        if layout is None:
            return ["merged: the team has no repository ([team] repo)"]
        work = board.info().meta.get("work")
        records = work if isinstance(work, dict) else {}
        if not records:
            return ["merged: no work was published as a commit yet"]
        missing = []
        for commit, entry in sorted(records.items(), key=lambda kv: kv[1].get("seq", 0)):
            if not is_ancestor(layout.repo, commit, layout.integration_branch):
                missing.append(f"commit {commit[:12]} of {entry.get('member')} is not merged"
                               f" into {layout.integration_branch}")
        return missing

    return crit.Criterion("published work merged into the integration branch", check)


@dataclass
class _CheckCache:
    head: str = ""
    missing: tuple[str, ...] = ()


def check_criterion(command: str) -> crit.Criterion:
    argv = shlex.split(command)
    cache = _CheckCache()

    def check(board: TeamBoard, _facts: crit.RunFacts) -> list[str]:
        layout = _layout(board)
        if layout is None:
            return [f"check {command!r}: the team has no repository ([team] repo)"]
        where = layout.integration_dir
        try:
            head = out(where, "rev-parse", "HEAD")
        except (GitError, OSError) as exc:
            return [f"check {command!r}: no integration worktree ({exc})"]
        if cache.head != head:
            cache.head, cache.missing = head, tuple(_run_check(argv, command, where))
        return list(cache.missing)

    return crit.Criterion(f"check {command!r} passes on the integration branch", check)


def _run_check(argv: list[str], command: str, where: Path) -> list[str]:
    try:
        done = subprocess.run(argv, cwd=where, env=git_env(), capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT, check=False, shell=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [f"check {command!r} could not run on the integration branch: {exc}"]
    if done.returncode == 0:
        return []
    tail = " ".join((done.stdout + done.stderr).split())[-MAX_CHECK_OUTPUT:]
    return [f"check {command!r} failed on the integration branch (exit {done.returncode}):"
            f" {tail}"]

