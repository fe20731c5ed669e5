"""A workspace per member: one git worktree, on its own branch, under the run's folder.

A team file that names `[team] repo` (a directory, relative to where the run starts) gets,
for each member, a worktree of that repository at `.teammesh/runs/<run id>.work/<member>`
on branch `teammesh/<run id>/member/<member>`, and one more, `_integration`, on the run's
integration branch `teammesh/<run id>/integration` (where reviewed work is merged: only the
runner writes there). Every branch starts from the repository's HEAD (an empty first commit
when the repository has none, or is made one here by `git init`). The member's session gets
its worktree as `cwd`, sandboxed `workspace-write` there, so members never share a tree.

Paths are hostile: `repo` may not be absolute, contain `..`, or resolve (symlinks followed)
outside the start directory; the run's folder is never a symlink; branch parts are checked
(`git_cmd.branch_part`). Hooks are off in every worktree (`core.hooksPath=/dev/null` in its
own config), so nothing an agent writes runs as the runner. Where it all is goes into the
run's metadata (`workspace`), read back on `--resume` and by `teammesh runs prune`
(`remove_workspaces`), which removes the worktrees and the member branches whose work the
integration branch holds; the integration branch stays (it is the run's result).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from teammesh.mesh.git_cmd import GitError, branch_part, check_branch, git, out

WORK_DIR_SUFFIX = ".work"
INTEGRATION_DIR = "_integration"  # member names start with a letter: no clash
FIRST_COMMIT_MESSAGE = "teammesh: start of the team's work"


class WorkspaceError(Exception):
    """The workspaces cannot be set up as asked (a clear one-line reason)."""


def repo_problem(setting: str) -> str | None:
    """Why a team file's `repo` is refused before anything runs (None: it may be used)."""
    parts = PurePosixPath(setting.replace("\\", "/"))
    if parts.is_absolute() or os.path.isabs(setting) or setting.startswith("~"):
        return "must be a path relative to the run's directory"
    if ".." in parts.parts:
        return "may not contain '..'"
    if any(ord(c) < 32 for c in setting):
        return "may not contain control characters"
    return None


def resolve_repo(setting: str, start: Path) -> Path:
    """The repository directory a team file names, checked: relative, no `..`, inside the
    start directory once symlinks are resolved."""
    problem = repo_problem(setting)
    if problem is not None:
        raise WorkspaceError(f"[team] repo {problem}: {setting!r}")
    base = start.resolve()
    path = (base / setting).resolve()
    if path != base and base not in path.parents:
        raise WorkspaceError(f"[team] repo {setting!r} resolves outside {base}")
    return path


@dataclass(frozen=True)
class Layout:
    """Where one run's workspaces are, and their branches (kept in the run's metadata)."""

    run_id: str
    repo: Path
    root: Path

    @property
    def prefix(self) -> str:
        return f"teammesh/{self.run_id}"

    @property
    def integration_branch(self) -> str:
        return f"{self.prefix}/integration"

    @property
    def integration_dir(self) -> Path:
        return self.root / INTEGRATION_DIR

    def branch(self, member: str) -> str:
        return f"{self.prefix}/member/{branch_part(member)}"

    def worktree(self, member: str) -> Path:
        return self.root / branch_part(member)

    def meta(self) -> dict[str, Any]:
        return {"repo": str(self.repo), "root": str(self.root), "run": self.run_id}

    @classmethod
    def from_meta(cls, meta: object) -> Layout | None:
        if not isinstance(meta, dict):
            return None
        try:
            run_id = branch_part(str(meta["run"]))
            layout = cls(run_id, Path(str(meta["repo"])), Path(str(meta["root"])))
        except (KeyError, ValueError):
            return None
        # Only a folder of the shape this module makes is ever removed.
        root = layout.root
        if (root.name != run_id + WORK_DIR_SUFFIX or not root.is_absolute()
                or root.parent.name != "runs" or root.parent.parent.name != ".teammesh"):
            return None
        return layout


def work_root(start: Path, run_id: str) -> Path:
    """`<start>/.teammesh/runs/<run id>.work`, made 0700; never a symlink."""
    runs = start.resolve() / ".teammesh" / "runs"
    runs.mkdir(mode=0o700, parents=True, exist_ok=True)
    root = runs / (branch_part(run_id) + WORK_DIR_SUFFIX)
    if root.is_symlink():
        raise WorkspaceError(f"{root} is a symlink; the run's folder must be a directory")
    root.mkdir(mode=0o700, exist_ok=True)
    if root.resolve() != root:
        raise WorkspaceError(f"{root} resolves elsewhere ({root.resolve()})")
    return root


def _repository(path: Path) -> Path:
    """The repository whose top level is `path`, made one (`git init`) if it is none. A
    directory inside some other repository is made its own: the team's branches and
    worktrees never land in a repository the team file did not name."""
    path.mkdir(parents=True, exist_ok=True)
    found = git(path, "rev-parse", "--show-toplevel", check=False)
    if found.returncode == 0 and Path(found.stdout.strip()).resolve() == path.resolve():
        return path.resolve()
    git(path, "init", "--quiet")
    return path.resolve()


def _base_commit(repo: Path) -> str:
    """HEAD's commit, or (a repository without commits) an empty first commit on no branch:
    the team's branches start from it and nothing of the repository's own is touched."""
    head = git(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if head.returncode == 0:
        return head.stdout.strip()
    empty_tree = out(repo, "hash-object", "-t", "tree", "-w", "--stdin")
    return out(repo, "commit-tree", empty_tree, "-m", FIRST_COMMIT_MESSAGE)


def _has_branch(repo: Path, branch: str) -> bool:
    return git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}",
               check=False).returncode == 0


def _add_worktree(repo: Path, path: Path, branch: str, start_point: str) -> None:
    check_branch(repo, branch)
    if (path / ".git").exists():
        return  # resumed: the worktree is there, with whatever its member left in it
    if path.is_symlink():
        raise WorkspaceError(f"{path} is a symlink; a worktree must be a directory")
    if _has_branch(repo, branch):
        git(repo, "worktree", "add", "--quiet", str(path), branch)
    else:
        git(repo, "worktree", "add", "--quiet", "-b", branch, str(path), start_point)
    # Hooks off in the worktree's own config: whatever git runs there runs no hook.
    git(repo, "config", "extensions.worktreeConfig", "true")
    git(path, "config", "--worktree", "core.hooksPath", "/dev/null")


def verify_tree(layout: Layout, tree: Path, branch: str) -> None:
    """Refuse (WorkspaceError) a worktree that is no longer the one the runner made, before
    the runner runs git in it. Its `.git` is a file in a directory an agent writes: pointed
    at another git dir (a fake one whose config names filters or an fsmonitor, or another
    member's), the runner's `git add` would run what it says or commit onto another branch.
    So: `.git` is a plain file naming a git dir under the repository's own
    `.git/worktrees/`, that git dir points back at this tree, and its HEAD is the branch."""
    marker = tree / ".git"
    if marker.is_symlink() or not marker.is_file():
        raise WorkspaceError(f"{tree}: its .git is not the worktree file the runner made")
    text = marker.read_text("utf-8", "replace").strip()
    gitdir = Path(text.removeprefix("gitdir: ")).resolve() if text.startswith("gitdir: ") else None
    worktrees = (layout.repo / ".git" / "worktrees").resolve()
    if gitdir is None or gitdir.parent != worktrees:
        raise WorkspaceError(f"{tree}: its .git names a git dir the runner did not make")
    try:
        back = Path((gitdir / "gitdir").read_text("utf-8").strip()).resolve()
        head = (gitdir / "HEAD").read_text("utf-8").strip()
    except OSError:
        raise WorkspaceError(f"{tree}: its git dir is gone") from None
    if back != marker.resolve() or head != f"ref: refs/heads/{branch}":
        raise WorkspaceError(f"{tree}: not on its own branch {branch} (HEAD {head[:80]!r})")


def open_workspaces(layout: Layout, members: tuple[str, ...]) -> Layout:
    """Make (or, resumed, find) the integration branch and every member's worktree."""
    try:
        repo = _repository(layout.repo)
        layout = Layout(layout.run_id, repo, layout.root)
        base = _base_commit(repo)
        integration = layout.integration_branch
        if not _has_branch(repo, integration):
            git(repo, "branch", check_branch(repo, integration), base)
        _add_worktree(repo, layout.integration_dir, integration, integration)
        for member in members:
            _add_worktree(repo, layout.worktree(member), layout.branch(member), integration)
    except GitError as exc:
        raise WorkspaceError(f"cannot set up the members' worktrees: {exc}") from None
    return layout


def workspace_session(layout: Layout, member: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The member's session settings with its worktree as cwd and `workspace-write` there
    (a member the team file made `read-only` stays read-only)."""
    settings = dict(kwargs)
    settings["cwd"] = str(layout.worktree(member))
    if settings.get("filesystem_sandbox") != "read-only":
        settings["filesystem_sandbox"] = "workspace-write"
    return settings


def remove_workspaces(meta: object) -> list[str]:
    """Remove a finished run's worktrees and the member branches the integration branch
    holds; returns what was kept (said to the operator). Nothing outside the run's own
    folder and branches is touched."""
    layout = Layout.from_meta(meta)
    if layout is None:
        return []
    kept: list[str] = []
    if layout.repo.is_dir():
        listed = git(layout.repo, "worktree", "list", "--porcelain", check=False).stdout
        for line in listed.splitlines():
            path = Path(line.removeprefix("worktree ")) if line.startswith("worktree ") else None
            if path is not None and layout.root in path.parents:
                git(layout.repo, "worktree", "remove", "--force", str(path), check=False)
        git(layout.repo, "worktree", "prune", check=False)
        branches = out(layout.repo, "for-each-ref", "--format=%(refname:short)",
                       f"refs/heads/{layout.prefix}/member/")
        for branch in branches.splitlines():
            merged = git(layout.repo, "merge-base", "--is-ancestor", branch,
                         layout.integration_branch, check=False).returncode == 0
            if merged:
                git(layout.repo, "branch", "-D", branch, check=False)
            else:
                kept.append(branch)
    if layout.root.is_dir() and not layout.root.is_symlink():
        shutil.rmtree(layout.root, ignore_errors=True)
    return kept
