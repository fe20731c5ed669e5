"""The default prompts of a team with workspaces: members do real work in their worktree.

Without a repository the seed's prompts forbid shell commands and file edits (there is no
tree of one's own to work in). With one (`[team] repo`), each member works in its own
worktree through the runtime's own tools: the developer writes a small module and its test,
docs writes a page about it, the reviewer runs the test and looks at the diff. The steps
name codex's tool `exec_command` (the one codex offers the model for commands,
`/work/shared/reference/codex-app-server.md`) with its arguments written out, a form the
playbook brain plays exactly (`call X with {json}`) and a real model reads as an
instruction. A runtime without that tool (the playbook runtime) skips those steps and the
team still coordinates; publishing then carries no commit.

The team_* steps are the seed's, so the board sees the same calls either way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from teammesh.mesh.prompts import default_steps

SHELL_TOOL = "exec_command"

WORKSPACE_CONSTRAINTS: tuple[str, ...] = (
    "This is a team run with a workspace per member: your current directory is your own git"
    " worktree.",
    "Work only inside your current directory; never touch another member's worktree.",
    "Do not commit yourself: team_publish_artifact commits your worktree for you.",
    "Use exec_command for commands and file edits, and the team_* tools to coordinate.",
)

MODULE = '''"""Summarize a repository: how many files of each kind it holds."""

from collections import Counter
from pathlib import Path


def summarize(root="."):
    """Files under `root` by suffix ("(none)" for files without one), .git left out."""
    found = (p for p in Path(root).rglob("*") if p.is_file() and ".git" not in p.parts)
    return dict(sorted(Counter(p.suffix or "(none)" for p in found).items()))
'''

TEST = '''import tempfile
import unittest
from pathlib import Path

from repo_summary import summarize


class SummarizeTest(unittest.TestCase):
    def test_counts_files_by_suffix(self):
        with tempfile.TemporaryDirectory(dir=".") as root:
            for name in ("a.py", "b.py", "README"):
                Path(root, name).write_text("x")
            self.assertEqual(summarize(root), {"(none)": 1, ".py": 2})


if __name__ == "__main__":
    unittest.main()
'''

PAGE = '''# repo_summary

`repo_summary.summarize(root=".")` counts the files under `root` by suffix and returns a
dict sorted by suffix, files without one under `"(none)"`; `.git` is left out.

```python
>>> from repo_summary import summarize
>>> summarize(".")
{".md": 1, ".py": 2}
```

Test: `python3 -m unittest` (in `test_repo_summary.py`).
'''

REVIEW_COMMAND = ("python3 -m unittest -v 2>&1 | tail -n 4;"
                  " git --no-pager log --stat --format='%an: %s' -n 3")
# The command a team file's `check` criterion can run on the integration branch.
CHECK_COMMAND = "python3 -m unittest"


def _write(files: dict[str, str]) -> str:
    """One shell command writing `files` (here-documents: no quoting inside the text)."""
    parts = []
    for name, text in files.items():
        folder = name.rsplit("/", 1)[0] if "/" in name else ""
        if folder:
            parts.append(f"mkdir -p {folder}")
        parts.append(f"cat > {name} <<'TEAMMESH_EOF'\n{text}TEAMMESH_EOF")
    return "\n".join(parts)


def _call(command: str) -> str:
    return f"call {SHELL_TOOL} with " + json.dumps({"cmd": command, "login": False},
                                                    ensure_ascii=True)


WORK_STEPS: dict[str, str] = {
    "developer": ("If there is a task, " + _call(_write({"repo_summary.py": MODULE,
                                                          "test_repo_summary.py": TEST}))
                  + " to write the module and its test."),
    "docs": ("If there is a task, " + _call(_write({"docs/repo_summary.md": PAGE}))
             + " to write the page about the module."),
    "reviewer": ("If there is a task, " + _call(REVIEW_COMMAND)
                 + " to run the tests and read the diff."),
}


def workspace_steps(member: str, handoffs: Sequence[str]) -> list[str]:
    """The seed's steps with the member's work in its worktree before it publishes."""
    steps = default_steps(member, handoffs)
    work = WORK_STEPS.get(member)
    if work is not None:
        steps.insert(2, work)  # after the pull and the idle branch, before the publish
    return steps
