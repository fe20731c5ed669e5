"""`teammesh demo`'s team: the seed's, and on the codex runtime one that does real work.

Behind codex the members have codex's own tools, so the demo gives the team a repository
(`teammesh-demo/` in the directory the demo runs in, made a git repository if it is none):
each member works in its own worktree (`workspace_prompts.py`), the reviewer's review merges
the work into the run's integration branch, and the run is complete only when everything
published is merged and the tests pass there (`merged`, `check`). The other runtimes have no
tools of their own: their demo stays the seed's.
"""

from __future__ import annotations

from importlib import resources

from teammesh.mesh.team import Team
from teammesh.mesh.teamfile import BUILTIN_TEAM, builtin_team, team_from_text
from teammesh.mesh.workspace_prompts import CHECK_COMMAND

DEMO_REPO = "teammesh-demo"
_SEED_TASK = ("Draft a concise implementation plan for a repository-summary workflow, without"
              " running commands or editing files, then hand off one docs task and one"
              " validation task.")
DEMO_TASK = ("Write a small repository-summary module and its test in your worktree, then"
             " hand off one docs task and one validation task.")
_SEED_COMPLETION = 'all_of = [{ member_done = "reviewer" }, { queues_empty = true }]'


def runtime_name(spec: str | None) -> str:
    return (spec or "playbook").split("?", 1)[0].split(":", 1)[0]


def demo_team(runtime: str | None, *, embedded: bool) -> Team:
    if runtime_name(runtime) != "codex" or not embedded:
        return builtin_team()
    text = resources.files("teammesh.mesh").joinpath(BUILTIN_TEAM).read_text("utf-8")
    text = text.replace("[team]\n", f'[team]\nrepo = "{DEMO_REPO}"\n', 1)
    text = text.replace(_SEED_TASK, DEMO_TASK, 1)
    text = text.replace(_SEED_COMPLETION, _SEED_COMPLETION[:-1]
                        + f', {{ merged = true }}, {{ check = "{CHECK_COMMAND}" }}]', 1)
    return team_from_text(text, f"<built-in {BUILTIN_TEAM}, with workspaces>")
