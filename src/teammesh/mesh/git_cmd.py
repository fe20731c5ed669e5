"""Running git for the runner: never through a shell, never with hooks, never asking.

Everything the runner does to a team's repository (worktrees, commits, merges) goes through
`git()`. Why each setting:

- an argument list, no shell: a branch or file name from a team file or an agent is data;
- `core.hooksPath=/dev/null`: a hook is code in the repository, and a member's worktree is
  written by an agent; the runner's commits and merges must not run what an agent left;
- `commit.gpgsign=false`, no editor, no pager, no terminal prompt: a runner never waits on
  a human it cannot see;
- the environment's `GIT_DIR`/`GIT_WORK_TREE`/... dropped: the repository is the one named.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

# Settings every command of the runner gets (`-c` beats every config file).
SAFE_CONFIG: tuple[str, ...] = (
    "core.hooksPath=/dev/null",
    "commit.gpgsign=false",
    "tag.gpgsign=false",
    "core.editor=true",
    "core.pager=cat",
    "core.fsmonitor=false",
    "merge.conflictStyle=merge",
    "init.defaultBranch=main",
)
# The committer of every commit the runner makes (the author is the member).
RUNNER_NAME = "teammesh runner"
RUNNER_EMAIL = "runner@teammesh.invalid"
_DROPPED_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CEILING_DIRECTORIES",
                "GIT_NAMESPACE", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
                "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR")
# A branch name part the runner makes: what team files and run ids may contribute.
_BRANCH_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# A commit named by an agent: hex only (never an option, never a ref expression).
COMMIT_ID = re.compile(r"^[0-9a-f]{7,64}$")
GIT_TIMEOUT = 120.0


class GitError(Exception):
    """A git command failed; the message is git's own (first lines of stderr)."""

    def __init__(self, args: Sequence[str], code: int, stderr: str) -> None:
        lines = " ".join(stderr.strip().splitlines()[:3])
        super().__init__(f"git {' '.join(args[:2])} failed ({code}): {lines}")
        self.code = code
        self.stderr = stderr


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_EDITOR="true", GIT_PAGER="cat",
               GIT_COMMITTER_NAME=RUNNER_NAME, GIT_COMMITTER_EMAIL=RUNNER_EMAIL,
               GIT_AUTHOR_NAME=RUNNER_NAME, GIT_AUTHOR_EMAIL=RUNNER_EMAIL,
               LC_ALL="C")
    return env


def git(cwd: str | Path, *args: str, check: bool = True, stdin: str = "",
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `git <args>` in `cwd` with the safe settings; raises `GitError` when `check`.
    Its stdin is `stdin` (never the terminal)."""
    command = ["git"]
    for setting in SAFE_CONFIG:
        command += ["-c", setting]
    command += list(args)
    done = subprocess.run(command, cwd=str(cwd), env=env or git_env(), capture_output=True,
                          input=stdin, text=True, timeout=GIT_TIMEOUT, check=False, shell=False)
    if check and done.returncode != 0:
        raise GitError(args, done.returncode, done.stderr)
    return done


def out(cwd: str | Path, *args: str) -> str:
    return git(cwd, *args).stdout.strip()


def branch_part(text: str) -> str:
    """`text` if it may be one path component of a branch the runner makes, else ValueError
    (no `..`, no `/`, no leading `-`, no ref syntax)."""
    if not _BRANCH_PART.fullmatch(text):
        raise ValueError(f"not usable in a branch name: {text!r}")
    return text


def check_branch(cwd: str | Path, name: str) -> str:
    """`name` if git itself accepts it as a branch name, else ValueError."""
    if name.startswith("-") or git(cwd, "check-ref-format", "--branch", name,
                                   check=False).returncode != 0:
        raise ValueError(f"not a valid branch name: {name!r}")
    return name
