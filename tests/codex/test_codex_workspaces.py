"""A workspace per member on the real codex runtime (issue 19, item 5): the members write
files through codex's own `exec_command` in their worktrees, sandboxed there; the run's
integration branch ends up holding them. The seed's demo produces the module, its test and
a page; two members editing one file produce a refused merge that is then resolved; the
sandbox keeps a member out of another's worktree; a runner killed mid-run resumes without
committing anything twice. Real codex app-server, real playbook model server, real git."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from teammesh.brain.server import ModelServerThread
from teammesh.client import AsyncCodexManager
from teammesh.gateway.session_policy import SessionCeiling
from teammesh.mesh.board import create_board, list_runs, open_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner
from teammesh.mesh.teamfile import team_from_text
from tests.mesh.workspace_repo import make_repo, sh_git

from .stack import Stack, codex_stack

pytestmark = [pytest.mark.codex]

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))


@pytest.fixture(scope="module")
def stack(codex_bin: Path, codex_data_dir: Path) -> Iterator[Stack]:
    """Think time on the model, so a runner can be killed in the middle of a turn."""
    with (
        ModelServerThread(think_ms=150) as model,
        codex_stack(codex_bin, codex_data_dir, model_base_url=f"{model.base_url}/v1",
                    ceiling=SessionCeiling(approval_policies=("never", "untrusted"))
                    ) as stack,
    ):
        yield stack


class _Sink(list[str]):
    def write(self, text: str) -> int:
        self.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a JSON string is a TOML basic string


def _shell_step(command: str) -> str:
    return "If there is a task, call exec_command with " + json.dumps(
        {"cmd": command, "login": False}) + "."


async def _run(stack: Stack, where: Path, text: str, notes: _Sink | None = None
               ) -> tuple[RunOutcome, Printer, Path]:
    os.makedirs(where, exist_ok=True)
    team = team_from_text(text, "ws.toml")
    board = create_board(run_id=f"run-{where.name}", team=team.name, roster=team.roster,
                         path=where / "board.sqlite")
    printer = Printer(out=_Sink(), notes=notes if notes is not None else _Sink())
    cwd = os.getcwd()
    os.chdir(where)  # the run starts here: its repo and worktrees are under it
    try:
        async with AsyncCodexManager(base_url=stack.base_url) as cm:
            outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=60),
                                       printer).run()
    finally:
        os.chdir(cwd)
        board.close()
    return outcome, printer, where / ".teammesh" / "runs" / f"run-{where.name}.work"


def test_the_codex_demo_leaves_the_files_and_passing_tests_on_the_integration_branch(
        codex_bin: Path, codex_data_dir: Path) -> None:
    where = codex_data_dir / "demo"
    where.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    proc = subprocess.run([TEAMMESH, "demo", "--runtime", "codex", "--live", "off"],
                          cwd=where, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "complete after 1 round(s), 3 turn(s), 13 tool call(s)" in proc.stderr
    repo = where / "teammesh-demo"
    [branch] = sh_git(repo, "for-each-ref", "--format=%(refname:short)",
                      "refs/heads/*/*/integration").split()
    assert f"work: branch {branch} of {repo}" in proc.stderr  # it says where
    files = sh_git(repo, "ls-tree", "-r", "--name-only", branch).split()
    assert files == ["docs/repo_summary.md", "repo_summary.py", "test_repo_summary.py"]
    authors = sh_git(repo, "log", "--topo-order", "--format=%an|%s", branch).splitlines()
    assert [a.split("|")[0] for a in authors] == ["teammesh runner", "docs", "developer",
                                                 "teammesh runner"]
    assert authors[0].split("|")[1].startswith("merge docs's ")
    # The tests pass on a fresh checkout of the integration branch.
    checkout = where / "checkout"
    sh_git(repo, "worktree", "add", "-q", "--detach", str(checkout), branch)
    tests = subprocess.run([sys.executable, "-m", "unittest", "-v"], cwd=checkout,
                           capture_output=True, text=True, timeout=60, check=False)
    assert tests.returncode == 0 and "test_counts_files_by_suffix" in tests.stderr, tests
    # The board names each commit the artifacts carry.
    show = subprocess.run([TEAMMESH, "board", "show", proc.stderr.split()[1]], cwd=where,
                          env=env, capture_output=True, text=True, timeout=30)
    artifacts = show.stdout.split("\nartifacts:\n", 1)[1].split("\nsnapshot:", 1)[0]
    assert artifacts.count("\n      [commit ") == 2, show.stdout
    assert "Write a small repository-summary module" in show.stdout


CONFLICT_TEAM = """
[team]
name = "conflict"
repo = "proj"
rounds = 8
[[members]]
name = "alice"
handoffs = ["reviewer"]
steps = ["Call team_pull_work once.",
         "If the task is null, call team_read_board and reply with one short idle status.",
         {alice_step},
         "If there is a task, call team_publish_artifact with a one-sentence summary.",
         "Queue exactly one reviewer handoff using team_queue_work."]
[[members]]
name = "bob"
handoffs = ["reviewer"]
steps = ["Call team_pull_work once.",
         "If the task is null, call team_read_board and reply with one short idle status.",
         {bob_step},
         "If there is a task, call team_publish_artifact with a one-sentence summary.",
         "Queue exactly one reviewer handoff using team_queue_work."]
[[members]]
name = "reviewer"
steps = ["Call team_pull_work once.",
         "If the task is null, call team_read_board and reply with one short idle status.",
         "If there is a task, call team_publish_artifact with your one-sentence verdict."]
[[tasks]]
owner = "alice"
text = "Add your line to README.md."
[[tasks]]
owner = "bob"
text = "Add your line to README.md."
[completion]
all_of = [{{ merged = true }}, {{ queues_empty = true }}]
"""
RESOLVED = "# project\nalice was here\nbob was here\n"
# bob's one command: his line, or (conflict markers in the file) the resolution.
BOB = ("if grep -q '<<<<<<<' README.md; then printf '# project\\nalice was here\\nbob was"
       " here\\n' > README.md; else printf '# project\\nbob was here\\n' > README.md; fi")


@pytest.mark.anyio
async def test_two_members_editing_one_file_a_refused_merge_then_resolved(
        stack: Stack, codex_data_dir: Path) -> None:
    where = codex_data_dir / "conflict"
    make_repo(where / "proj")
    text = CONFLICT_TEAM.format(
        alice_step=_toml(_shell_step("printf '# project\\nalice was here\\n' > README.md")),
        bob_step=_toml(_shell_step(BOB)))
    outcome, printer, work = await _run(stack, where, text)
    assert outcome.complete, (outcome.missing, printer.lines)
    board = open_board(where / "board.sqlite", "run-conflict")
    try:
        artifacts = board.artifacts()
        tasks = board.tasks()
    finally:
        board.close()
    [refusal] = [a for a in artifacts if a.kind == "merge_refused"]
    assert refusal.member == "reviewer" and "conflicts in README.md" in refusal.summary
    [handback] = [t for t in tasks if t.queued_by == "reviewer"]
    assert handback.owner == "bob" and "README.md" in handback.text
    integration = work / "_integration"
    assert (integration / "README.md").read_text() == RESOLVED
    graph = sh_git(where / "proj", "log", "--graph", "--format=%an: %s",
                   "teammesh/run-conflict/integration")
    print("\n" + graph)
    assert graph.count("merge ") == 2 and "bob: " in graph and "alice: " in graph


SANDBOX_TEAM = """
[team]
name = "sandbox"
repo = "proj"
[[members]]
name = "alice"
handoffs = []
steps = ["Call team_pull_work once.", {alice_step},
         "If there is a task, call team_publish_artifact with a one-sentence summary.",
         "Call team_mark_done."]
[[members]]
name = "mallory"
handoffs = []
steps = ["Call team_pull_work once.", {mallory_step},
         "If there is a task, call team_publish_artifact with a one-sentence summary.",
         "Call team_mark_done."]
[[tasks]]
owner = "alice"
text = "Write yours."
[[tasks]]
owner = "mallory"
text = "Write yours."
[completion]
member_done = ["alice", "mallory"]
"""


@pytest.mark.anyio
async def test_the_sandbox_keeps_a_member_out_of_another_members_worktree(
        stack: Stack, codex_data_dir: Path) -> None:
    where = codex_data_dir / "sandbox"
    make_repo(where / "proj")
    alice_tree = where / ".teammesh" / "runs" / "run-sandbox.work" / "alice"
    attack = (f"echo evil > ../alice/pwned.txt; echo evil > {alice_tree}/pwned2.txt;"
              f" echo evil >> {where / 'proj' / 'README.md'}; echo mine > mine.txt")
    text = SANDBOX_TEAM.format(alice_step=_toml(_shell_step("echo hers > hers.txt")),
                               mallory_step=_toml(_shell_step(attack)))
    outcome, printer, work = await _run(stack, where, text)
    assert outcome.complete, (outcome.missing, printer.lines)
    assert sorted(p.name for p in (work / "alice").iterdir()) == [".git", "README.md",
                                                                 "hers.txt"]
    assert (where / "proj" / "README.md").read_text() == "# project\n"
    assert (work / "mallory" / "mine.txt").read_text() == "mine\n"  # its own tree: writable
    mallory = sh_git(where / "proj", "log", "-1", "--name-only", "--format=%an",
                     "teammesh/run-sandbox/member/mallory").split()
    assert mallory == ["mallory", "mine.txt"]


def _readline(stream: object, timeout: float) -> str:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()),  # type: ignore[attr-defined]
                              daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else ""


RESUME_TEAM = """
[team]
name = "resume"
repo = "proj"
[[members]]
name = "developer"
handoffs = ["docs", "reviewer"]
[[members]]
name = "docs"
handoffs = ["reviewer"]
[[members]]
name = "reviewer"
handoffs = []
[[tasks]]
owner = "developer"
text = "Write the repository summary module and its test."
[completion]
all_of = [{ member_done = "reviewer" }, { queues_empty = true }, { merged = true }]
"""


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kill_after", [1, 2, 6, 8])
def test_a_killed_run_resumes_without_duplicate_commits(
        stack: Stack, codex_data_dir: Path, kill_after: int) -> None:
    where = codex_data_dir / f"resume-{kill_after}"
    where.mkdir()
    make_repo(where / "proj")
    (where / "ws.toml").write_text(RESUME_TEAM)
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    common = ["--board", str(where / "board.sqlite"), "--api-base", stack.base_url,
              "--live", "off"]
    runner = subprocess.Popen([TEAMMESH, "run", "ws.toml", *common], cwd=where, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert runner.stdout is not None
    for _ in range(kill_after):
        if not _readline(runner.stdout, 60):
            break
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    assert runner.returncode == -signal.SIGKILL  # killed, not finished
    (run,) = list_runs(where / "board.sqlite")
    assert run.status == "running"
    resumed = subprocess.run([TEAMMESH, "run", "--resume", run.run_id, *common], cwd=where,
                             env=env, capture_output=True, text=True, timeout=200)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    repo = where / "proj"
    for member, files in (("developer", "repo_summary.py test_repo_summary.py"),
                          ("docs", "docs/repo_summary.md")):
        mine = sh_git(repo, "log", f"--author={member} <", "--format=%h",
                      f"teammesh/{run.run_id}/member/{member}").split()
        assert len(mine) == 1, (member, mine)  # committed once, whatever the kill hit
        changed = sh_git(repo, "show", "--name-only", "--format=", mine[0]).split()
        assert " ".join(sorted(changed)) == files
    board = open_board(where / "board.sqlite", run.run_id)
    try:
        kinds = collections.Counter((a.member, a.kind) for a in board.artifacts())
        work = board.info().meta["work"]
    finally:
        board.close()
    assert kinds[("developer", "implementation")] == 1
    assert kinds[("docs", "documentation")] == 1
    assert len(work) == 2
    files = sh_git(repo, "ls-tree", "-r", "--name-only",
                   f"teammesh/{run.run_id}/integration").split()
    assert files == ["README.md", "docs/repo_summary.md", "repo_summary.py",
                     "test_repo_summary.py"]


APPROVALS_TEAM = """
[team]
name = "approvals"
repo = "proj"
[session]
approval_policy = "untrusted"
[[members]]
name = "developer"
handoffs = ["docs"]
[[members]]
name = "docs"
handoffs = []
steps = ["Call team_pull_work once.", {docs_step},
         "If there is a task, call team_publish_artifact with a one-sentence summary.",
         "Call team_mark_done."]
[[tasks]]
owner = "developer"
text = "Write the module."
[[policies.approvals]]
member = "developer"
tool = "command"
answer = "yes"
[[policies.approvals]]
member = "docs"
tool = "command"
answer = "no"
[completion]
member_done = ["developer", "docs"]
"""


@pytest.mark.anyio
async def test_codex_command_approvals_are_answered_by_the_team_rules(
        stack: Stack, codex_data_dir: Path) -> None:
    where = codex_data_dir / "approvals"
    make_repo(where / "proj")
    text = APPROVALS_TEAM.format(docs_step=_toml(_shell_step("echo page > page.md")))
    notes = _Sink()
    outcome, printer, work = await _run(stack, where, text, notes)
    assert outcome.complete, (outcome.missing, printer.lines)
    said = [line for line in "".join(notes).splitlines() if line.startswith("[approval]")]
    assert said and all(line.endswith(": accept") for line in said
                        if line.startswith("[approval] developer: ")), said
    assert [line for line in said if line.startswith("[approval] docs: ")] == [
        "[approval] docs: Command approval required: /bin/bash -c 'echo page > page.md':"
        " decline (command by docs declined by the team's approval rule)"]
    # Approved: the developer's files are there; declined: docs wrote nothing.
    assert (work / "developer" / "repo_summary.py").exists()
    assert not (work / "docs" / "page.md").exists()
