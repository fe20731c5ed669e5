"""A workspace per member (issue 19, item 1): `[team] repo` gives each member its own git
worktree on its own branch under the run's folder, its session's cwd and sandbox; hooks
are off there; hostile paths are refused; `teammesh runs prune` cleans up. Real git, the
real gateway (playbook runtime), real board files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.mesh.board import create_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, TeamRunner
from teammesh.mesh.teamfile import TeamFileError, team_from_text
from teammesh.mesh.workspaces import (
    Layout,
    WorkspaceError,
    open_workspaces,
    resolve_repo,
    work_root,
)

from .cli_runs import teammesh
from .workspace_repo import branches, make_repo, sh_git

TEAM = """
[team]
name = "ws"
repo = "{repo}"
[[members]]
name = "developer"
handoffs = ["reviewer"]
[[members]]
name = "reviewer"
handoffs = []
[[tasks]]
owner = "developer"
text = "Write it."
"""


class _Sink(list[str]):
    def write(self, text: str) -> int:
        self.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.anyio
async def test_each_member_session_runs_in_its_own_worktree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    repo = make_repo(tmp_path / "proj")
    team = team_from_text(TEAM.format(repo="proj"), "ws.toml")
    board = create_board(run_id="run-ws1", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite")
    printer = Printer(out=_Sink(), notes=_Sink())
    async with start_gateway(data_dir=tmp_path / "gw") as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                                   printer).run()
        assert outcome.complete, outcome.missing
        root = tmp_path / ".teammesh" / "runs" / "run-ws1.work"
        for member, session_id in board.sessions().items():
            detail = await cm.sessions.get(session_id)
            assert detail["session"]["cwd"] == str(root / member)
            controls = detail["session"]["sessionControls"]
            assert "workspace-write" in repr(controls), controls
    meta = board.info().meta["workspace"]
    board.close()
    assert meta == {"repo": str(repo), "root": str(root), "run": "run-ws1"}
    assert sorted(branches(repo)) == ["main", "teammesh/run-ws1/integration",
                                      "teammesh/run-ws1/member/developer",
                                      "teammesh/run-ws1/member/reviewer"]
    for member in ("developer", "reviewer", "_integration"):
        tree = root / member
        assert (tree / "README.md").read_text() == "# project\n"  # from the repo's HEAD
        assert sh_git(tree, "config", "--worktree", "core.hooksPath") == "/dev/null"
    assert (root.stat().st_mode & 0o777) == 0o700
    assert sh_git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # untouched


def test_a_directory_without_a_repository_is_made_one(tmp_path: Path) -> None:
    layout = Layout("run-ws2", resolve_repo("fresh", tmp_path), work_root(tmp_path, "run-ws2"))
    opened = open_workspaces(layout, ("developer",))
    assert (tmp_path / "fresh" / ".git").is_dir()
    log = sh_git(opened.worktree("developer"), "log", "--format=%s")
    assert log == "teammesh: start of the team's work"
    # A repository without commits keeps having none on its own branch.
    assert sh_git(tmp_path / "fresh", "rev-list", "--all", "--count") == "1"
    # Opened again (a resumed run), the same worktrees and branches, nothing new.
    again = open_workspaces(layout, ("developer",))
    assert again == opened
    assert sh_git(tmp_path / "fresh", "worktree", "list").count("\n") == 2


@pytest.mark.parametrize("setting", ["../outside", "/etc", "a/../../b", "~/x", "x\ny"])
def test_a_repo_outside_the_run_directory_is_refused_in_the_team_file(setting: str) -> None:
    with pytest.raises(TeamFileError) as raised:
        team_from_text(TEAM.format(repo=setting.replace("\n", "\\n")), "ws.toml")
    assert "team.repo" in str(raised.value)


def test_a_symlink_out_of_the_run_directory_is_refused(tmp_path: Path) -> None:
    outside = make_repo(tmp_path / "outside")
    start = tmp_path / "start"
    start.mkdir()
    (start / "link").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="resolves outside"):
        resolve_repo("link", start)
    # A planted symlink as the run's folder is refused too.
    runs = start / ".teammesh" / "runs"
    runs.mkdir(parents=True)
    (runs / "run-ws3.work").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="symlink"):
        work_root(start, "run-ws3")


def test_bad_branch_material_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="branch"):
        work_root(tmp_path, "../run")
    with pytest.raises(ValueError, match="branch"):
        Layout("run-ok", tmp_path, tmp_path).branch("-x")


def test_the_cli_run_and_prune_clean_up_the_worktrees(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj")
    (tmp_path / "ws.toml").write_text(TEAM.format(repo="proj"))
    ran = teammesh(tmp_path, "run", "ws.toml")
    assert ran.returncode == 0, ran.stderr
    assert "workspaces: " in ran.stderr
    [work] = list((tmp_path / ".teammesh" / "runs").glob("*.work"))
    assert sorted(p.name for p in work.iterdir()) == ["_integration", "developer", "reviewer"]
    pruned = teammesh(tmp_path, "runs", "prune")
    assert pruned.returncode == 0, pruned.stderr
    assert not work.exists()
    run_id = work.name.removesuffix(".work")
    # The integration branch is the run's result: kept; the members' merged branches go.
    assert sorted(branches(repo)) == ["main", f"teammesh/{run_id}/integration"]
    assert sh_git(repo, "worktree", "list").count("\n") == 0


def test_a_refused_repo_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    outside = make_repo(tmp_path / "outside")
    start = tmp_path / "start"
    start.mkdir()
    os.symlink(outside, start / "link")
    (start / "ws.toml").write_text(TEAM.format(repo="link"))
    ran = teammesh(start, "run", "ws.toml", "--board", "memory")
    assert ran.returncode == 2, ran.stderr
    assert "resolves outside" in ran.stderr and "Traceback" not in ran.stderr


def test_a_directory_inside_another_repository_becomes_its_own(tmp_path: Path) -> None:
    outer = make_repo(tmp_path / "outer")
    layout = Layout("run-ws4", resolve_repo("inner", outer), work_root(outer, "run-ws4"))
    opened = open_workspaces(layout, ("developer",))
    assert opened.repo == (outer / "inner").resolve()
    assert branches(outer) == ["main"]  # the enclosing repository gained nothing
    assert "teammesh/run-ws4/integration" in branches(outer / "inner")
