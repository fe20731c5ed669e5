"""Work handed off as commits: a publish commits the member's worktree, a pull starts from
the commit the task was handed off with.

`commit_work` (before the board records a publish): everything in the member's worktree is
committed by the runner, the member as author; the commit, its branch and its diff stat are
recorded in the run's metadata (`work`, by commit) and named at the end of the artifact's
summary, so `board show` and every member reading the board see it. Exactly once: a
replayed publish (its request key already on the board) commits nothing; a retried attempt
finds the worktree clean and HEAD already its commit, so it names the same commit again
and the board's effect key replays the artifact. A worktree with nothing new publishes a
plain artifact.

`start_from` (after a pull that claimed a task): the task's commit is the one the member
who queued it published last (or, for work handed back after a refused merge, the
integration branch's head, `handbacks`); the puller's worktree is brought to it: a fast
forward when it has nothing of its own, else a merge. A merge that conflicts is left in the
worktree, conflict markers and all, for the member to resolve; its next publish commits
the resolution.
"""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teammesh.mesh.board import BoardRefusal, TaskRecord, TeamBoard
from teammesh.mesh.git_cmd import GitError, git, out
from teammesh.mesh.workspaces import Layout, WorkspaceError, verify_tree

MAX_FILES_NAMED = 10
# What running the work leaves behind is not work: bytecode caches are never committed.
NOT_WORK = (":(exclude,glob)**/__pycache__/**", ":(exclude,glob)**/*.py[co]")
AUTHOR_DOMAIN = "teammesh.invalid"


def is_ancestor(cwd: object, older: str, newer: str) -> bool:
    return git(str(cwd), "merge-base", "--is-ancestor", older, newer,
               check=False).returncode == 0


def conflicted_files(cwd: object) -> list[str]:
    names = git(str(cwd), "diff", "--name-only", "--diff-filter=U", check=False).stdout
    return sorted(set(names.split()))


def work_line(commit: str, entry: dict[str, Any]) -> str:
    """The line a published artifact ends with: its commit, branch and diff stat."""
    files = list(entry.get("files", []))
    named = ", ".join(files[:MAX_FILES_NAMED]) + (" …" if len(files) > MAX_FILES_NAMED else "")
    return (f"[commit {commit[:12]} on {entry.get('branch')}: {len(files)} file(s),"
            f" +{entry.get('added', 0)} -{entry.get('removed', 0)}: {named or 'no files'}]")


@dataclass
class TeamWork:
    """The run's workspaces as the skills use them (one per run, shared by the members)."""

    layout: Layout
    board: TeamBoard
    integrator: str | None = None
    # Records are read-modify-written in the run's metadata; git in one tree is one at a
    # time. One runner process holds a run (its lock), so a process lock is enough.
    lock: threading.RLock = field(default_factory=threading.RLock)

    # -- records ---------------------------------------------------------------------------

    def records(self) -> dict[str, dict[str, Any]]:
        work = self.board.info().meta.get("work")
        return dict(work) if isinstance(work, dict) else {}

    def record(self, commit: str, **changes: Any) -> dict[str, Any]:
        with self.lock:
            work = self.records()
            entry = {**work.get(commit, {"seq": len(work) + 1}), **changes}
            work[commit] = entry
            self.board.update_meta(work=work)
            return entry

    def handbacks(self) -> dict[str, str]:
        found = self.board.info().meta.get("handbacks")
        return dict(found) if isinstance(found, dict) else {}

    def latest_of(self, member: str) -> str | None:
        """The last commit `member` published (None: none yet)."""
        mine = [(e.get("seq", 0), c) for c, e in self.records().items()
                if e.get("member") == member]
        return max(mine)[1] if mine else None

    def tree(self, member: str) -> Path:
        """The member's worktree, checked to be the one the runner made (a refusal if not:
        the agent's answer says why)."""
        tree = self.layout.worktree(member)
        try:
            verify_tree(self.layout, tree, self.layout.branch(member))
        except WorkspaceError as exc:
            raise BoardRefusal(str(exc)) from None
        return tree

    # -- publish ---------------------------------------------------------------------------

    def commit_work(self, member: str, kind: str, summary: str) -> tuple[str, dict[str, Any]
                                                                         ] | None:
        """Commit the member's worktree; (commit, record) when the member has work of its
        own to show (new now, or committed earlier and not yet published), else None."""
        tree = self.tree(member)
        with self.lock:
            unresolved = [name for name in conflicted_files(tree) if _has_markers(tree, name)]
            if unresolved:
                raise BoardRefusal("resolve the merge conflicts first (conflict markers"
                                   f" left in {', '.join(unresolved)})")
            git(tree, "add", "--all", "--", ".", *NOT_WORK)
            staged = git(tree, "diff", "--cached", "--quiet", check=False).returncode != 0
            merging = git(tree, "rev-parse", "--verify", "--quiet", "MERGE_HEAD",
                          check=False).returncode == 0
            if staged or merging:
                title = " ".join(summary.split())[:72]
                git(tree, "commit", "--quiet", "--no-verify", "--allow-empty",
                    f"--author={member} <{member}@{AUTHOR_DOMAIN}>",
                    "-m", f"{kind}: {title}")
            head = out(tree, "rev-parse", "HEAD")
            known = self.records()
            if head in known:
                return (head, known[head]) if known[head].get("member") == member else None
            if is_ancestor(tree, head, self.layout.integration_branch):
                return None  # nothing of its own: the integration branch holds it all
            if any(is_ancestor(tree, head, c) for c in known):
                return None  # it only holds what another member published
            added, removed, files = _diff_stat(tree, head)
            return head, self.record(head, member=member, branch=self.layout.branch(member),
                                     kind=kind, files=files, added=added, removed=removed)

    # -- pull ------------------------------------------------------------------------------

    def handoff_commit(self, task: TaskRecord, member: str | None = None) -> str | None:
        """The commit a task was handed off with. For the integrator, the newest published
        commit built on it (a later member's work on top, docs on the developer's): the
        review covers the work as it stands, and merging it brings in both."""
        handed_back = self.handbacks().get(str(task.id))
        if handed_back:
            return handed_back
        commit = self.latest_of(task.queued_by)
        if commit is None or member is None or member != self.integrator:
            return commit
        records = self.records()
        seq = records[commit].get("seq", 0)
        later = sorted(((e.get("seq", 0), c) for c, e in records.items()
                        if e.get("seq", 0) > seq), reverse=True)
        tree = self.layout.integration_dir
        return next((c for _, c in later if is_ancestor(tree, commit, c)), commit)

    def start_from(self, member: str, commit: str) -> dict[str, Any]:
        """Bring the member's worktree to `commit`; what happened, for the pull's answer."""
        tree = self.tree(member)
        said: dict[str, Any] = {"startsFrom": commit[:12],
                                "branch": self.layout.branch(member), "cwd": str(tree)}
        with self.lock:
            try:
                if is_ancestor(tree, commit, "HEAD"):
                    return said  # it has that work already
                clean = not out(tree, "status", "--porcelain")
                if clean and is_ancestor(tree, "HEAD", commit):
                    git(tree, "merge", "--quiet", "--ff-only", commit)
                    return said
                if clean and member == self.integrator:
                    # The integrator reviews exactly the commit handed to it.
                    git(tree, "reset", "--quiet", "--hard", commit)
                    return said
                done = git(tree, "merge", "--quiet", "--no-ff", "--no-edit", commit,
                           check=False)
                if done.returncode != 0:
                    conflicts = conflicted_files(tree)
                    if not conflicts:
                        git(tree, "merge", "--abort", check=False)
                        return {**said, "startsFrom": None,
                                "problem": " ".join(done.stderr.split())[:300]}
                    said["conflicts"] = conflicts
                    said["todo"] = ("resolve the conflict markers in these files; your next"
                                    " team_publish_artifact commits the resolution")
            except GitError as exc:
                return {**said, "startsFrom": None, "problem": str(exc)[:300]}
        return said


def _has_markers(tree: object, name: str) -> bool:
    """Whether a conflicted file still holds conflict markers. Opened without following a
    symlink and without blocking (an agent may have put a FIFO there); only a regular file
    is read."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(os.path.join(str(tree), name), flags)
    except OSError:
        return False  # deleted, or a symlink: not a file with markers
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        text = os.read(fd, 4 * 1024 * 1024)
    finally:
        os.close(fd)
    return b"<<<<<<< " in text and b">>>>>>> " in text


def _diff_stat(tree: object, head: str) -> tuple[int, int, list[str]]:
    """Lines added, removed and the files of `head` against its first parent."""
    parent = git(str(tree), "rev-parse", "--verify", "--quiet", f"{head}^1", check=False)
    base = parent.stdout.strip() if parent.returncode == 0 else out(
        str(tree), "hash-object", "-t", "tree", "--stdin")
    stat = out(str(tree), "diff", "--numstat", "--no-renames", base, head)
    added = removed = 0
    files: list[str] = []
    for line in stat.splitlines():
        plus, minus, name = ([*line.split("\t", 2), "", "", ""])[:3]
        added += int(plus) if plus.isdigit() else 0
        removed += int(minus) if minus.isdigit() else 0
        if name:
            files.append(name)
    return added, removed, sorted(files)
