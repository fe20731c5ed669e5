"""Policies and completion criteria in real runs (real gateway, playbook runtime): ping-pong
stopped, chain cap, allowed targets, approval gates (rule and operator), failed turns
requeued then dead-lettered, and a run that ends incomplete with what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from teammesh.cli import main
from teammesh.client import AsyncCodexManager
from teammesh.gateway.embedded import start_gateway
from teammesh.gateway.runtimes.registry import RuntimeSettings
from teammesh.mesh.approval_wait import Asker
from teammesh.mesh.board import TeamBoard, create_board, open_board
from teammesh.mesh.output import Printer
from teammesh.mesh.runner import RunOptions, RunOutcome, TeamRunner
from teammesh.mesh.teamfile import load_team

TEAMMESH = str(Path(sys.executable).with_name("teammesh"))
GOVERNED = Path(__file__).resolve().parents[2] / "teams" / "governed.toml"

BOUNCE_STEPS = '''steps = [
  "Call team_pull_work once.",
  "If the task is null, call team_read_board and reply with one short idle status.",
  "If there is a task, call team_publish_artifact with a one-sentence summary of your work.",
  "Queue exactly one {other} handoff using team_queue_work.",
]'''

PING_PONG = f'''
[team]
name = "pingpong"
[[members]]
name = "alice"
{BOUNCE_STEPS.format(other="bob")}
[[members]]
name = "bob"
{BOUNCE_STEPS.format(other="alice")}
[[tasks]]
owner = "alice"
text = "Start the exchange."
'''

SEED = '''
[[members]]
name = "developer"
{developer}
[[members]]
name = "docs"
[[members]]
name = "reviewer"
[[tasks]]
owner = "developer"
text = "Draft a plan, then hand off one docs task and one validation task."
'''


async def _run(tmp_path: Path, text: str, *, ask: Asker | None = None,
               think_ms: int = 0, deadline: float | None = None,
               turn_timeout: float | None = 30) -> tuple[RunOutcome, TeamBoard, list[str]]:
    path = tmp_path / "team.toml"
    path.write_text(text, encoding="utf-8")
    team = load_team(path)
    board = create_board(run_id="r", team=team.name, roster=team.roster,
                         path=tmp_path / "board.sqlite",
                         max_attempts=team.policies.max_attempts)
    printer = Printer(out=_Sink(), notes=_Sink())
    settings = RuntimeSettings(data_dir=tmp_path / "gw", think_ms=think_ms,
                               tool_call_deadline_s=deadline)
    async with start_gateway(data_dir=tmp_path / "gw", settings=settings) as gateway, \
            AsyncCodexManager(base_url=gateway.base_url) as cm:
        outcome = await TeamRunner(cm, team, board, RunOptions(turn_timeout=turn_timeout,
                                                               ask=ask), printer).run()
    return outcome, board, printer.lines


async def _run_with_absent_operator(
        tmp_path: Path, text: str, *, answer: bool, deadline: float | None = None,
        turn_timeout: float | None = 30) -> tuple[RunOutcome, TeamBoard, list[str]]:
    """`_run` with an operator who is asked but only answers `answer` once the run is over
    (the 20 s wait is released then), so every question meets a deadline first."""
    release = threading.Event()

    def absent(question: str) -> bool:
        release.wait(20)
        return answer

    try:
        return await _run(tmp_path, text, ask=absent, deadline=deadline,
                          turn_timeout=turn_timeout)
    finally:
        release.set()


@pytest.mark.anyio
async def test_ping_pong_is_detected_and_stopped(tmp_path: Path) -> None:
    text = PING_PONG + "[policies]\nmax_bounces = 2\n[completion]\nqueues_empty = true\n"
    outcome, board, lines = await _run(tmp_path, text)
    assert outcome.complete and outcome.rounds == 2
    assert lines[-3] == (
        "[round 2] alice: published the alice artifact, team_queue_work refused"
        " (ping-pong between alice and bob detected: alice > bob > alice > bob (3 handoffs"
        " back and forth, max…).")
    assert [t.chain for t in board.tasks()] == [
        ("alice",), ("alice", "bob"), ("alice", "bob", "alice")]
    board.close()


@pytest.mark.anyio
async def test_without_a_guard_ping_pong_runs_to_the_round_limit(tmp_path: Path) -> None:
    text = PING_PONG.replace('name = "pingpong"', 'name = "pingpong"\nrounds = 3')
    outcome, board, _ = await _run(tmp_path, text)
    assert not outcome.complete
    assert outcome.reason == "round limit (3) reached"
    assert outcome.missing == ["member bob has not marked done", "alice still has 1 queued"
                               " task(s)"]
    board.close()


@pytest.mark.anyio
async def test_chain_cap_and_allowed_targets(tmp_path: Path) -> None:
    # docs may only hand off to the reviewer; the developer may not reach the reviewer.
    text = SEED.format(developer='targets = ["docs"]\nhandoffs = ["docs"]')
    text = text.replace('name = "docs"', 'name = "docs"\ntargets = ["reviewer"]')
    text += "[policies]\nmax_chain = 1\n"
    outcome, board, _ = await _run(tmp_path, text)
    # docs' handoff (developer > docs > reviewer) is 2 handoffs: refused by the cap, so the
    # reviewer never gets work and the run ends incomplete, saying why.
    assert not outcome.complete
    assert outcome.missing == ["member reviewer has not marked done"]
    assert [t.owner for t in board.tasks()] == ["developer", "docs"]
    board.close()


@pytest.mark.anyio
async def test_approval_rule_declines_a_handoff(tmp_path: Path) -> None:
    text = SEED.format(developer="") + (
        '[[policies.approvals]]\nmember = "docs"\nowner = "reviewer"\nanswer = "no"\n')
    outcome, board, lines = await _run(tmp_path, text)
    assert outcome.complete
    assert [(t.queued_by, t.owner) for t in board.tasks()] == [
        ("system", "developer"), ("developer", "docs"), ("developer", "reviewer")]
    docs_line = next(line for line in lines if line.startswith("[round 1] docs:"))
    assert "declined by the team's approval rule" in docs_line
    board.close()


@pytest.mark.anyio
async def test_operator_approval_is_pending_on_the_board_while_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SEED.format(developer="") + (
        '[[policies.approvals]]\ntool = "team_mark_done"\nmember = "reviewer"\n'
        'answer = "ask"\n')
    seen: list[tuple[str, list[str]]] = []

    def operator(question: str) -> bool:
        # Another connection to the board file sees the question pending.
        view = open_board(tmp_path / "board.sqlite", "r")
        seen.append((question, [a.state for a in view.approvals()]))
        view.close()
        return True

    outcome, board, _ = await _run(tmp_path, text, ask=operator)
    assert outcome.complete
    ((question, states),) = seen
    assert question.startswith('#1 approve team_mark_done by reviewer? ({"note": ')  # its number
    assert states == ["pending"]
    assert [(a.member, a.tool, a.state, a.answered_by) for a in board.approvals()] == [
        ("reviewer", "team_mark_done", "approved", "operator")]
    board.close()
    capsys.readouterr()
    assert main(["board", "show", "r", "--board", str(tmp_path / "board.sqlite")]) == 0
    shown = capsys.readouterr().out
    assert "approvals:\n  #1 reviewer     approved by operator: approve team_mark_done" in shown


@pytest.mark.anyio
async def test_failed_turns_requeue_then_dead_letter(tmp_path: Path) -> None:
    # The developer's publish waits for an operator who never answers; the gateway's
    # tool-call deadline fails the turn, its claim goes back, and after two attempts the
    # task is a dead letter. The run ends incomplete and says so.
    text = SEED.format(developer="") + (
        '[[policies.approvals]]\ntool = "team_publish_artifact"\nanswer = "ask"\n'
        "[policies]\nmax_attempts = 2\n"
        "[completion]\nall_of = [{ member_done = \"reviewer\" }, { no_dead_letters = true }]\n")
    outcome, board, _ = await _run_with_absent_operator(tmp_path, text, answer=False,
                                                        deadline=0.3)
    assert not outcome.complete
    (task,) = board.dead_letters()
    assert (task.owner, task.attempts) == ("developer", 2)
    assert outcome.missing == ["member reviewer has not marked done",
                               f"dead letter: task {task.id} for developer ({task.text!r})"]
    assert outcome.reason == "a round made no progress"
    # The questions nobody answered were closed when the run stopped.
    assert [(a.state, a.answered_by) for a in board.approvals()] == [
        ("declined", "abandoned"), ("declined", "abandoned")]
    board.close()


def test_cli_exit_codes_and_invalid_team_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    bad = tmp_path / "bad.toml"
    bad.write_text('[team]\nrounds = "many"\n', encoding="utf-8")
    proc = subprocess.run([TEAMMESH, "run", str(bad)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    # Every problem at once, the first on the headline (issue 13: the team file is checked
    # by pydantic models, all errors collected).
    assert proc.stderr == (
        f"teammesh run: invalid team file: {bad}: team.rounds: must be an integer\n"
        f"{bad}: members: declare at least one [[members]] entry\n"
        f"{bad}: tasks: declare at least one [[tasks]] entry (the initial work)\n")
    assert proc.stdout == ""
    assert not (tmp_path / ".teammesh").exists()  # refused before anything started

    incomplete = tmp_path / "pp.toml"
    incomplete.write_text(PING_PONG.replace('name = "pingpong"',
                                            'name = "pingpong"\nrounds = 2'),
                          encoding="utf-8")
    proc = subprocess.run([TEAMMESH, "run", str(incomplete), "--board", "memory"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "incomplete after 2 round(s)" in proc.stderr
    assert "missing: member bob has not marked done" in proc.stderr


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.anyio
async def test_budget_stops_the_run_and_says_what_is_missing(tmp_path: Path) -> None:
    text = SEED.format(developer="") + (
        "[completion]\nall_of = [{ member_done = \"reviewer\" }, { budget = { turns = 2 } }]\n")
    outcome, board, lines = await _run(tmp_path, text)
    assert not outcome.complete
    assert outcome.turns == 2
    assert outcome.missing == ["member reviewer has not marked done"]
    assert not any(line.startswith("[round 1] reviewer") for line in lines)
    board.close()


@pytest.mark.anyio
async def test_max_rounds_criterion_stops_before_the_next_round(tmp_path: Path) -> None:
    text = PING_PONG + "[completion]\nall_of = [{ queues_empty = true }, { max_rounds = 2 }]\n"
    outcome, board, _ = await _run(tmp_path, text)
    assert not outcome.complete
    assert outcome.rounds == 2
    assert outcome.reason == "limit reached before round 3: used 3 rounds (max 2)"
    assert outcome.missing == ["alice still has 1 queued task(s)"]
    board.close()


@pytest.mark.anyio
async def test_turn_timeout_prints_counts_interrupts_and_requeues(tmp_path: Path) -> None:
    # The reviewer's pull waits for an operator who never answers (no gateway deadline):
    # the turn times out with one pending tool call, is interrupted, its claim requeued.
    text = SEED.format(developer="").replace('name = "reviewer"',
                                             'name = "reviewer"\nturn_timeout = 0.5')
    text = text.replace("[[tasks]]", "[team]\nrounds = 1\n[[tasks]]", 1)
    text += '[[policies.approvals]]\ntool = "team_pull_work"\nmember = "reviewer"\n'
    text += 'answer = "ask"\n'
    outcome, board, lines = await _run_with_absent_operator(tmp_path, text, answer=False,
                                                            turn_timeout=None)
    timeout_at = next(i for i, line in enumerate(lines) if "timeout waiting for turn" in line)
    assert lines[timeout_at].startswith("[round 1] reviewer: timeout waiting for turn ")
    assert lines[timeout_at + 1:timeout_at + 3] == [
        "[round 1] reviewer: pending approvals=0",
        "[round 1] reviewer: pending tool calls=1"]
    assert not outcome.complete
    assert [t.status for t in board.tasks() if t.owner == "reviewer"] == ["queued", "queued"]
    assert [s.state for s in board.turns() if s.member == "reviewer"] == ["failed"]
    (turn,) = [s for s in board.turns() if s.member == "reviewer"]
    assert turn.reason == (f"timeout waiting for turn {turn.turn_id} (pending approvals=0,"
                           " pending tool calls=1)")
    board.close()


@pytest.mark.anyio
async def test_tool_call_deadline_interrupts_and_requeues(tmp_path: Path) -> None:
    # The docs member's publish waits for an operator who never answers; the team's
    # tool-call deadline interrupts the turn and requeues the claim, twice, then the task
    # is a dead letter. The gateway itself has no deadline here.
    text = SEED.format(developer="") + (
        '[[policies.approvals]]\ntool = "team_publish_artifact"\nmember = "docs"\n'
        'answer = "ask"\n[policies]\nmax_attempts = 2\ntool_call_deadline = 0.4\n')
    outcome, board, lines = await _run_with_absent_operator(tmp_path, text, answer=False)
    # The default criteria (reviewer done, queues empty) do not ask for no dead letters.
    assert outcome.complete
    problems = [line for line in lines if "unanswered" in line]
    assert len(problems) == 2
    assert problems[0].startswith("[round 1] docs: tool call team_publish_artifact unanswered"
                                  " after 0.4 s; interrupting turn ")
    (task,) = board.dead_letters()
    assert (task.owner, task.attempts) == ("docs", 2)
    # The reviewer still got the developer's handoff and finished.
    assert "reviewer" in board.completed()
    assert [s.state for s in board.turns() if s.member == "docs"] == ["failed", "failed"]
    # Each records the problem its `[round N]` line printed.
    assert [f"[round {s.round}] docs: {s.reason}" for s in board.turns()
            if s.member == "docs"] == problems
    board.close()


@pytest.mark.anyio
async def test_approval_timeout_is_a_no_the_agent_reads(tmp_path: Path) -> None:
    text = SEED.format(developer="") + (
        '[[policies.approvals]]\nmember = "docs"\nowner = "reviewer"\nanswer = "ask"\n'
        "[policies]\napproval_timeout = 0.2\n")
    outcome, board, lines = await _run_with_absent_operator(tmp_path, text, answer=True)
    assert outcome.complete
    docs_line = next(line for line in lines if line.startswith("[round 1] docs:"))
    assert "no answer within 0.2s, declined" in docs_line
    assert [(a.state, a.answered_by) for a in board.approvals()] == [("declined", "deadline")]
    board.close()


def test_approval_asked_on_the_terminal(tmp_path: Path) -> None:
    """`answer = "ask"` with a terminal: the question appears on it, the operator's "y"
    approves the handoff and the run completes."""
    import pty
    import select

    team_file = tmp_path / "team.toml"
    team_file.write_text(SEED.format(developer="") + (
        '[[policies.approvals]]\nmember = "docs"\nowner = "reviewer"\nanswer = "ask"\n'),
        encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CODEX_MANAGER_API_BASE"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen([TEAMMESH, "run", str(team_file), "--board", "memory",
                             "--live", "off"], cwd=tmp_path, env=env, stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(follower)
    assert proc.stderr is not None
    seen = b""
    try:
        while b"[y/N]" not in seen:
            ready, _, _ = select.select([proc.stderr], [], [], 30)
            assert ready, seen
            seen += os.read(proc.stderr.fileno(), 1024)
        assert b"approve handoff docs -> reviewer?" in seen
        os.write(leader, b"y\n")
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)
    assert proc.returncode == 0, seen
    assert "[tool-call] docs: team_queue_work" in out


@pytest.mark.anyio
async def test_governed_team_file_completes_under_all_its_criteria(tmp_path: Path) -> None:
    outcome, board, _ = await _run(tmp_path, GOVERNED.read_text(encoding="utf-8"))
    assert outcome.complete, outcome.missing
    assert outcome.reason == "completion criteria hold"
    board.close()
