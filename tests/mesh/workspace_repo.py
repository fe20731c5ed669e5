"""Real git repositories for the workspace tests: made with the git binary, never faked."""

from __future__ import annotations

import subprocess
from pathlib import Path

from teammesh.mesh.git_cmd import git_env


def sh_git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A repository at `path` with one commit holding `files` (a README by default)."""
    path.mkdir(parents=True, exist_ok=True)
    sh_git(path, "init", "--quiet", "-b", "main")
    for name, text in (files or {"README.md": "# project\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    sh_git(path, "add", "--all")
    sh_git(path, "commit", "--quiet", "-m", "first")
    return path


def branches(repo: Path) -> list[str]:
    return sh_git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split()
